"""Message catalogues: every word recnet shows people, in the region's seven languages.

The words are data a translator edits, not strings in code: one flat JSON object per language
and domain, ``recnet/messages/<domain>/<lang>.json`` (``vocabularies``: the labels of the published
vocabularies; ``statistics``: the names of the SDMX codelists, codes, concepts and artefacts;
``pages``: the record pages; ``explorer``: the explorer, whose script fetches its catalogue as a
static file). Every language of a domain has the same keys and the same ``{placeholders}`` (a
unit test holds this), except plural forms, written ``<key>_<form>`` with the forms of
``Intl.PluralRules`` (``one``, ``few``, ``many``, ``other``): each language has the forms it
needs, and always ``other``.

Keys starting with ``_`` are for translators, not for readers: ``_review`` lists the keys whose
translation is a draft that a native speaker should check. A draft is still shown (better than
English for a reader of the language), and the list says it is one.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Final

# The order of the labels maps the API serves: English first, then Russian, then the region's
# languages by their codes. Uzbek and Turkmen are in Latin script, the others in Cyrillic.
LANGUAGES: Final[tuple[str, ...]] = ("en", "ru", "kk", "ky", "tg", "tk", "uz")
DEFAULT: Final = "en"
DOMAINS: Final[tuple[str, ...]] = ("vocabularies", "statistics", "pages", "explorer")
PLURAL_FORMS: Final[tuple[str, ...]] = ("zero", "one", "two", "few", "many", "other")
REVIEW: Final = "_review"

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class CatalogueError(ValueError):
    """A catalogue file that is not a flat object of texts (a translator's slip)."""


def directory(domain: str) -> Traversable:
    """Where the catalogues of a domain live (a package resource, so it ships in the wheel)."""
    return files("recnet") / "messages" / domain


@cache
def _read(domain: str, lang: str) -> tuple[dict[str, str], frozenset[str]]:
    path = directory(domain) / f"{lang}.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, frozenset()
    if not isinstance(raw, dict):
        raise CatalogueError(f"{domain}/{lang}.json is not a JSON object.")
    words: dict[str, str] = {}
    for key, value in raw.items():
        if key.startswith("_"):
            continue
        if not isinstance(value, str):
            raise CatalogueError(f"{domain}/{lang}.json: {key!r} is not a text.")
        words[key] = value
    review = raw.get(REVIEW, [])
    if not isinstance(review, list) or not all(isinstance(k, str) for k in review):
        raise CatalogueError(f"{domain}/{lang}.json: {REVIEW} is not a list of keys.")
    return words, frozenset(review)


def catalogue(domain: str, lang: str) -> dict[str, str]:
    """The texts of one language of a domain, by key (empty if the language has no file)."""
    return dict(_read(domain, lang)[0])


def for_review(domain: str, lang: str) -> frozenset[str]:
    """The keys of one catalogue whose translation a native speaker should check."""
    return _read(domain, lang)[1]


def text(domain: str, lang: str, key: str) -> str:
    """One text in a language, English where the language lacks it; the key if none has it."""
    return _read(domain, lang)[0].get(key) or _read(domain, DEFAULT)[0].get(key) or key


def labels(domain: str, key: str) -> dict[str, str]:
    """A key's text in every language that has it, in the order of ``LANGUAGES``."""
    found = {lang: _read(domain, lang)[0].get(key, "") for lang in LANGUAGES}
    return {lang: value for lang, value in found.items() if value}


def placeholders(value: str) -> frozenset[str]:
    """The ``{names}`` a text expects to be filled in."""
    return frozenset(_PLACEHOLDER.findall(value))


def plural_base(key: str) -> str | None:
    """``practicesFound`` for ``practicesFound_one``; None for a key that is not a plural form."""
    base, _, form = key.rpartition("_")
    return base if base and form in PLURAL_FORMS else None


def language_of(tag: str | None) -> str:
    """The catalogue language of a language tag ('uz-Latn-UZ' → 'uz'); English if none fits."""
    primary = (tag or "").split("-")[0].split("_")[0].strip().lower()
    return primary if primary in LANGUAGES else DEFAULT


def _shape(words: dict[str, str]) -> tuple[dict[str, frozenset[str]], dict[str, set[str]]]:
    """A catalogue's plain keys with their placeholders, and its plural keys' forms by base."""
    plain: dict[str, frozenset[str]] = {}
    plurals: dict[str, set[str]] = {}
    for key, value in words.items():
        base = plural_base(key)
        if base is None:
            plain[key] = placeholders(value)
        else:
            plurals.setdefault(base, set()).add(key.removeprefix(base + "_"))
            plain.setdefault(base, frozenset())
            plain[base] = plain[base] | placeholders(value)
    return plain, plurals


def problems(languages: dict[str, dict[str, str]], reference: str = DEFAULT) -> list[str]:
    """What a translator must fix in one domain's catalogues, compared with ``reference``: a key
    one language has and another lacks, a placeholder one has and another lacks, an empty text,
    a plural without its ``other`` form. Empty when the catalogues agree."""
    found: list[str] = []
    shapes = {lang: _shape(words) for lang, words in languages.items()}
    expected, _ = shapes[reference]
    for lang, (plain, plurals) in shapes.items():
        for key in sorted(expected.keys() - plain.keys()):
            found.append(f"{lang}: lacks {key!r}, which {reference} has")
        for key in sorted(plain.keys() - expected.keys()):
            found.append(f"{lang}: has {key!r}, which {reference} lacks")
        for key in sorted(expected.keys() & plain.keys()):
            if plain[key] != expected[key]:
                found.append(
                    f"{lang}: {key!r} has placeholders {sorted(plain[key])}, "
                    f"{reference} has {sorted(expected[key])}"
                )
        for base, forms in sorted(plurals.items()):
            if "other" not in forms:
                found.append(f"{lang}: plural {base!r} lacks its 'other' form")
        for key, value in languages[lang].items():
            if not value.strip():
                found.append(f"{lang}: {key!r} is empty")
    return found
