"""The record pages' message catalogues (``messages/pages/*.json``): complete in the region's
seven languages, and every word a template asks for is there."""

from __future__ import annotations

import re
from importlib.resources import files

import pytest

from recnet.schemas.vocabularies import Language, TlpMarking
from recnet.web.i18n import DEFAULT, Words, catalogues, interface_language, remembered

PLACEHOLDER = re.compile(r"\{(\w+)\}")
TEMPLATES = files("recnet.web") / "templates"


def test_every_catalogue_has_every_key_of_every_other() -> None:
    found = catalogues()
    assert set(found) == {"en", "ru", "kk", "ky", "tg", "tk", "uz"}
    keys = set().union(*(set(words) for words in found.values()))
    for lang, words in found.items():
        assert set(words) == keys, f"{lang} lacks {sorted(keys - set(words))}"


@pytest.mark.parametrize("lang", sorted(catalogues()))
def test_translations_keep_the_placeholders_of_the_english(lang: str) -> None:
    english = catalogues()[DEFAULT]
    for key, text in catalogues()[lang].items():
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(english[key])), key


def test_every_word_a_template_asks_for_is_in_the_catalogue() -> None:
    asked: set[str] = set()
    for template in TEMPLATES.iterdir():
        if template.name.endswith(".html"):
            asked |= set(re.findall(r"words\([\"'](\w+)[\"'][,)]", template.read_text("utf-8")))
    asked |= {f"kind_{kind}" for kind in ("practice", "programme")}
    assert asked, "no template asks for a word"
    assert asked - set(catalogues()[DEFAULT]) == set()


def test_the_interface_follows_the_reader_then_the_text_then_english() -> None:
    assert interface_language(["uz", "ru"], "ru") == "uz"
    assert interface_language(["fr"], "ru") == "ru"
    assert interface_language(["fr"], "fr") == "en"
    assert interface_language([], None) == "en"
    assert Words("ru")("withdrawn") == "Отозвано"


def test_every_region_language_has_its_own_page_words_and_term_labels() -> None:
    uzbek = Words("uz")
    assert uzbek("history") == "Versiyalar tarixi"
    assert uzbek.term(TlpMarking.clear).startswith("TLP:CLEAR")
    assert uzbek.language_name("uz") == "Oʻzbek tili"
    assert Words("kk")("documents") == "Құжаттар"
    assert Words("tk")("results") == "Netijeler"
    for lang in Language:
        assert catalogues()[lang.value]["history"]
        assert Words(lang.value).lang == lang.value


def test_a_remembered_choice_is_one_of_the_seven_or_nothing() -> None:
    assert remembered("uz") == "uz"
    assert remembered(" KK ") == "kk"
    assert remembered("fr") is None
    assert remembered("") is None
    assert remembered(None) is None
