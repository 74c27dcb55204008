"""The words of the server-rendered pages, by language, and the choice of languages for a page.

The words live in message catalogues a translator edits (``web/messages/<lang>.json``, one flat
object per language, every language with the same keys; placeholders in braces). A page has two
languages that may differ: the language of its interface (a language with a catalogue) and the
language of the record's text (any language the agency wrote). Both follow the reader's
preferences, best first; where the text is not there in the language asked, it falls back as the
API does (the next language the reader accepts, then English, then Russian) and the page says so.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from typing import Final

from recnet.schemas.vocabularies import Language, Term

DEFAULT: Final = Language.en_.value
# Languages by their own names, as a language switch shows them (not translations).
ENDONYMS: Final[dict[str, str]] = {
    "en": "English",
    "ru": "Русский",
    "kk": "Қазақша",
    "ky": "Кыргызча",
    "tg": "Тоҷикӣ",
    "tk": "Türkmençe",
    "uz": "Oʻzbekcha",
}
LANGUAGE_ORDER: Final[tuple[str, ...]] = tuple(lang.value for lang in Language)


@cache
def catalogues() -> dict[str, dict[str, str]]:
    """Every catalogue, by language: read once, on first use."""
    found: dict[str, dict[str, str]] = {}
    for entry in (files("recnet.web") / "messages").iterdir():
        if entry.name.endswith(".json"):
            words = json.loads(entry.read_text(encoding="utf-8"))
            found[entry.name.removesuffix(".json")] = {str(k): str(v) for k, v in words.items()}
    return found


def interface_language(preferred: Sequence[str], text_language: str | None) -> str:
    """The first language the reader prefers that has a catalogue; else the language the text is
    shown in, if it has one; else English."""
    available = catalogues()
    for lang in [*preferred, *([text_language] if text_language else [])]:
        if lang in available:
            return lang
    return DEFAULT


class Words:
    """The words of one interface language, with English for a key its catalogue lacks."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._words = catalogues().get(lang, {})
        self._fallback = catalogues()[DEFAULT]

    def __call__(self, key: str, **values: str) -> str:
        text = self._words.get(key) or self._fallback[key]
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in self._words or key in self._fallback

    def term(self, term: Term) -> str:
        """A vocabulary term's label in this language (English where it has none)."""
        label = getattr(term, self.lang, None) if self.lang in ("en", "ru") else None
        return str(label or term.en or term.value)

    def language_name(self, code: str) -> str:
        """A language's name in this interface language (``Language`` labels), else its own."""
        try:
            return self.term(Language(code))
        except ValueError:
            return ENDONYMS.get(code, code)
