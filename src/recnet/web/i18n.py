"""The words of the server-rendered pages, by language, and the choice of languages for a page.

The words live in message catalogues a translator edits (``recnet/messages/pages/<lang>.json``, one
flat object per language, every language with the same keys; placeholders in braces; see
``schemas.catalogues``), in the region's seven languages. A page has two
languages that may differ: the language of its interface (a language with a catalogue) and the
language of the record's text (any language the agency wrote). Both follow the reader's
preferences, best first; where the text is not there in the language asked, it falls back as the
API does (the next language the reader accepts, then English, then Russian) and the page says so.

The reader's choice of language is remembered in the ``recnet_lang`` cookie (a preference, not a
secret): the pages' language links set it, the explorer's switch too, and both read it before
``Accept-Language``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Final

from recnet.schemas import catalogues as catalogue_files
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
DOMAIN: Final = "pages"
# The cookie that remembers the reader's choice of language (pages and explorer alike).
LANGUAGE_COOKIE: Final = "recnet_lang"
LANGUAGE_COOKIE_MAX_AGE: Final = 365 * 24 * 3600


@cache
def catalogues() -> dict[str, dict[str, str]]:
    """Every language's catalogue of page words that has one: read once, on first use."""
    found = {lang: catalogue_files.catalogue(DOMAIN, lang) for lang in catalogue_files.LANGUAGES}
    return {lang: words for lang, words in found.items() if words}


def remembered(cookie: str | None) -> str | None:
    """The language a ``recnet_lang`` cookie names, if it is one of the seven; else None."""
    value = (cookie or "").strip().lower()
    return value if value in catalogue_files.LANGUAGES else None


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
        return term.label(self.lang)

    def language_name(self, code: str) -> str:
        """A language's name in this interface language (``Language`` labels), else its own."""
        try:
            return self.term(Language(code))
        except ValueError:
            return ENDONYMS.get(code, code)
