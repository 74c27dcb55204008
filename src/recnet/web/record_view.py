"""What a record page shows, built from a stored record for one reader's languages.

Pure: the route reads the record and its versions through the services (the one visibility
rule), and this module turns them into plain values a template prints: every multilingual field
as a ``Text`` that knows its own language (so each piece of text carries the right ``lang``
attribute even where it falls back), every vocabulary code as its label, every link a path from
the service's root or the configured public URL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from recnet.schemas.catalogues import text as catalogue_text
from recnet.schemas.records import Version
from recnet.schemas.statistics import CL_REF_AREA
from recnet.schemas.vocabularies import (
    ActivityDateType,
    ActivityStatus,
    Approach,
    EvidenceLevel,
    GeographicScope,
    OrganisationRole,
    RecordStatus,
    TargetGroup,
    Term,
    TlpMarking,
    WorkingGroup,
)
from recnet.web.i18n import ENDONYMS, LANGUAGE_ORDER, Words, catalogues

# Open Graph locales (language_TERRITORY) of the languages records are written in.
OG_LOCALES = {
    "en": "en_GB",
    "ru": "ru_RU",
    "kk": "kk_KZ",
    "ky": "ky_KG",
    "tg": "tg_TJ",
    "tk": "tk_TM",
    "uz": "uz_UZ",
}
_STATES = {code.id: code for code in CL_REF_AREA.codes}


@dataclass(frozen=True)
class Text:
    """A piece of an agency's text, with the language it is actually in."""

    lang: str
    value: str

    @property
    def paragraphs(self) -> list[str]:
        return [p.strip() for p in self.value.split("\n\n") if p.strip()]


@dataclass(frozen=True)
class Link:
    href: str
    label: str
    lang: str | None = None
    current: bool = False


@dataclass
class Page:
    """Everything a record page's template prints."""

    kind: str  # "practice" or "programme"
    words: Words
    state: str  # the owning member state's name
    text_lang: str | None
    title: Text
    summary: Text | None
    status: str
    withdrawn: bool
    notice: str | None
    path: str
    canonical: str
    api_url: str
    feeds: dict[str, str]
    languages: list[Link]
    facts: list[tuple[str, Any]]
    sections: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, str]] = field(default_factory=list)
    og_locale: str = "en_GB"

    @property
    def lang(self) -> str:
        return self.words.lang


class Chooser:
    """Picks each multilingual field's text: the page's text language first, then the reader's
    other languages, then English, then Russian, then whatever the agency wrote."""

    def __init__(self, preferred: Sequence[str]) -> None:
        self.order = list(dict.fromkeys([*preferred, "en", "ru"]))

    def __call__(self, texts: Mapping[str, str] | None) -> Text | None:
        if not texts:
            return None
        for lang in self.order:
            if texts.get(lang):
                return Text(lang, texts[lang])
        lang, value = next(iter(texts.items()))
        return Text(lang, value)


def _label(words: Words, vocabulary: type[Term], code: Any) -> str:
    try:
        return words.term(vocabulary(code))
    except ValueError:
        return str(code)


def state_name(words: Words, code: str) -> str:
    """A member state's name in the interface language (the ``statistics`` catalogues)."""
    if code not in _STATES:
        return code
    return catalogue_text("statistics", words.lang, f"{CL_REF_AREA.id}.{code}")


def moment(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def amount(value: Any, lang: str) -> str:
    """A budget amount with its thousands grouped as the interface language writes them."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = f"{number:,.2f}"
    if lang == "ru":
        return text.replace(",", "\u202f").replace(".", ",")
    return text


def _day(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value or "")


def _organisations(
    words: Words, choose: Chooser, items: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    return [
        {
            "name": choose(item.get("name")),
            "code": item.get("code") or "",
            "role": _label(words, OrganisationRole, item.get("role")),
        }
        for item in items
    ]


def _indicator_value(item: Mapping[str, Any] | None) -> str:
    if not item:
        return "–"
    return f"{item.get('value')} ({item.get('period')})"


def _practice_sections(
    words: Words, choose: Chooser, data: Mapping[str, Any], base: str
) -> tuple[list[tuple[str, Any]], dict[str, Any]]:
    facts: list[tuple[str, Any]] = [
        ("working_group", _label(words, WorkingGroup, data.get("working_group"))),
        ("approaches", [_label(words, Approach, a) for a in data.get("approaches", [])]),
        ("target_groups", [_label(words, TargetGroup, g) for g in data.get("target_groups", [])]),
        ("geographic_scope", _label(words, GeographicScope, data.get("geographic_scope"))),
        ("regions", list(data.get("regions", []))),
        ("start_date", _day(data.get("start_date"))),
        ("end_date", _day(data.get("end_date"))),
        ("evidence_level", _label(words, EvidenceLevel, data.get("evidence_level"))),
    ]
    sections = {
        "description": choose(data.get("description")),
        "lessons_learned": choose(data.get("lessons_learned")),
        "organisations": _organisations(words, choose, data.get("organisations", [])),
        "documents": [
            {
                "url": d.get("url", ""),
                "title": choose(d.get("title")),
                "language": d.get("language"),
            }
            for d in data.get("documents", [])
        ],
        "related_programmes": [
            Link(f"{base}/programmes/{p}", str(p)) for p in data.get("related_programmes", [])
        ],
    }
    return facts, sections


def _programme_sections(
    words: Words, choose: Chooser, data: Mapping[str, Any]
) -> tuple[list[tuple[str, Any]], dict[str, Any]]:
    lead = choose(data.get("lead_agency"))
    facts: list[tuple[str, Any]] = [
        ("lead_agency", lead),
        ("activity_status", _label(words, ActivityStatus, data.get("activity_status"))),
        ("components", [_label(words, Approach, c) for c in data.get("components", [])]),
        ("coverage", list(data.get("coverage", []))),
    ]
    sections = {
        "dates": [
            (_label(words, ActivityDateType, d.get("type")), _day(d.get("date")))
            for d in data.get("dates", [])
        ],
        "description": choose(data.get("description")),
        "legal_basis": choose(data.get("legal_basis")),
        "partners": _organisations(words, choose, data.get("partners", [])),
        "budgets": [
            {
                "amount": amount(b.get("amount"), words.lang),
                "currency": b.get("currency", ""),
                "period": f"{_day(b.get('period_start'))} – {_day(b.get('period_end'))}",
            }
            for b in data.get("budgets", [])
        ],
        "results": [
            {
                "title": choose(r.get("title")),
                "indicators": [
                    {
                        "title": choose(i.get("title")),
                        "unit": i.get("unit") or "",
                        "baseline": _indicator_value(i.get("baseline")),
                        "target": _indicator_value(i.get("target")),
                        "actuals": [_indicator_value(a) for a in i.get("actuals", [])],
                    }
                    for i in r.get("indicators", [])
                ],
            }
            for r in data.get("results", [])
        ],
    }
    return facts, sections


def _history(words: Words, versions: Sequence[Version]) -> list[dict[str, str]]:
    rows = []
    for v in versions:
        key = f"action_{v.action}"
        rows.append(
            {
                "version": str(v.version),
                "action": words(key) if words.has(key) else v.action,
                "status": _label(words, RecordStatus, v.status),
                "tlp": str(v.tlp),
                "at": moment(v.at),
                "by": v.actor_organisation or "",
            }
        )
    return rows


def build(
    *,
    kind: str,
    plural: str,
    record_id: str,
    tenant: str,
    status: str,
    tlp: str,
    version: int,
    created_at: datetime,
    updated_at: datetime,
    data: Mapping[str, Any],
    versions: Sequence[Version],
    preferred: Sequence[str],
    text_lang: str | None,
    words: Words,
    base: str,
) -> Page:
    """The page of one record, as a reader with these ``preferred`` languages sees it."""
    choose = Chooser([text_lang] if text_lang else preferred)
    title = choose(data.get("title")) or Text(words.lang, record_id)
    path = f"/{plural}/{record_id}"
    written = [lang for lang in LANGUAGE_ORDER if lang in data.get("title", {})]
    offered = [lang for lang in LANGUAGE_ORDER if lang in written or lang in catalogues()]
    asked = preferred[0] if preferred else None
    notice = None
    if asked in ENDONYMS and asked != text_lang and text_lang is not None:
        notice = words(
            "no_text_in",
            asked=words.language_name(asked),
            shown=words.language_name(text_lang),
        )
    if kind == "practice":
        facts, sections = _practice_sections(words, choose, data, base)
    else:
        facts, sections = _programme_sections(words, choose, data)
    common: list[tuple[str, Any]] = [
        ("member_state", state_name(words, tenant)),
        ("status", _label(words, RecordStatus, status)),
        ("marking", _label(words, TlpMarking, tlp)),
        ("version", str(version)),
        ("created", moment(created_at)),
        ("updated", moment(updated_at)),
        ("record_id", record_id),
    ]
    return Page(
        kind=kind,
        words=words,
        state=state_name(words, tenant),
        text_lang=text_lang,
        title=title,
        summary=choose(data.get("summary")),
        status=status,
        withdrawn=status == RecordStatus.withdrawn.value,
        notice=notice,
        path=path,
        canonical=f"{base}{path}?lang={title.lang}",
        api_url=f"{base}/v1/{plural}/{record_id}",
        feeds={
            "atom": f"{base}/v1/feeds/{plural}.atom?lang={title.lang}",
            "json": f"{base}/v1/feeds/{plural}.json?lang={title.lang}",
        },
        languages=[
            Link(
                f"{base}{path}?lang={lang}",
                ENDONYMS.get(lang, lang),
                lang=lang,
                current=lang == (asked or title.lang),
            )
            for lang in offered
        ],
        facts=common + facts,
        sections=sections,
        history=_history(words, versions),
        og_locale=OG_LOCALES.get(title.lang, "en_GB"),
    )


__all__ = ["Chooser", "Link", "Page", "Text", "build"]
