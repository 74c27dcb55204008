"""The record pages' message catalogues (``web/messages/*.json``): complete, and every word a
template asks for is there."""

from __future__ import annotations

import re
from importlib.resources import files

import pytest

from recnet.web.i18n import DEFAULT, Words, catalogues, interface_language

PLACEHOLDER = re.compile(r"\{(\w+)\}")
TEMPLATES = files("recnet.web") / "templates"


def test_every_catalogue_has_every_key_of_every_other() -> None:
    found = catalogues()
    assert {"en", "ru"} <= set(found)
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
    assert interface_language(["uz", "ru"], "uz") == "ru"
    assert interface_language(["uz"], "ru") == "ru"
    assert interface_language(["uz"], "uz") == "en"
    assert interface_language([], None) == "en"
    assert Words("ru")("withdrawn") == "Отозвано"
