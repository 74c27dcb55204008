"""The message catalogues: every domain in the region's seven languages, each language with the
keys and placeholders the others have, drafts marked for review, and every code they label."""

from __future__ import annotations

import json

import pytest

from recnet.schemas import catalogues
from recnet.schemas.catalogues import DOMAINS, LANGUAGES, problems
from recnet.schemas.statistics import CODELISTS
from recnet.schemas.statistics_sdmx import CONCEPTS
from recnet.schemas.vocabularies import VOCABULARIES

SEVEN = ("en", "ru", "kk", "ky", "tg", "tk", "uz")


def all_of(domain: str) -> dict[str, dict[str, str]]:
    return {lang: catalogues.catalogue(domain, lang) for lang in LANGUAGES}


def test_the_seven_languages() -> None:
    assert LANGUAGES == SEVEN


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_domain_has_a_file_per_language_that_a_translator_can_read(domain: str) -> None:
    directory = catalogues.directory(domain)
    names = sorted(entry.name for entry in directory.iterdir() if entry.name.endswith(".json"))
    assert names == sorted(f"{lang}.json" for lang in SEVEN)
    for lang in SEVEN:
        raw = json.loads((directory / f"{lang}.json").read_text(encoding="utf-8"))
        assert isinstance(raw, dict)
        assert all(isinstance(v, str) for k, v in raw.items() if not k.startswith("_"))


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_language_has_the_keys_and_placeholders_of_the_others(domain: str) -> None:
    words = all_of(domain)
    # Against each language in turn, so that a key only a translation has is found too.
    for reference in SEVEN:
        assert problems(words, reference) == []


def test_a_missing_key_or_placeholder_is_found() -> None:
    english = {"a": "One {n}", "b": "Two", "count_one": "{n} item", "count_other": "{n} items"}
    assert problems({"en": english, "xx": dict(english)}) == []
    lacking = {k: v for k, v in english.items() if k != "b"}
    assert problems({"en": english, "xx": lacking}) == ["xx: lacks 'b', which en has"]
    extra = {**english, "c": "Three"}
    assert problems({"en": english, "xx": extra}) == ["xx: has 'c', which en lacks"]
    assert problems({"en": english, "xx": extra}, reference="xx") == ["en: lacks 'c', which xx has"]
    other_placeholder = {**english, "a": "One {count}"}
    assert problems({"en": english, "xx": other_placeholder}) == [
        "xx: 'a' has placeholders ['count'], en has ['n']"
    ]
    dropped = {**english, "a": "One"}
    assert problems({"en": english, "xx": dropped}) == ["xx: 'a' has placeholders [], en has ['n']"]
    # Plural forms differ by language (Russian: one, few, many, other); 'other' is always there.
    russian = {
        "a": "{n}",
        "b": "Два",
        "count_one": "{n} штука",
        "count_few": "{n} штуки",
        "count_many": "{n} штук",
        "count_other": "{n} штуки",
    }
    assert problems({"en": english, "ru": russian}) == []
    no_other = {k: v for k, v in russian.items() if k != "count_other"}
    lacks_other = ["ru: plural 'count' lacks its 'other' form"]
    assert problems({"en": english, "ru": no_other}) == lacks_other
    assert problems({"en": english, "xx": {**english, "b": " "}}) == ["xx: 'b' is empty"]


@pytest.mark.parametrize("domain", DOMAINS)
def test_drafts_are_marked_for_review_and_name_real_keys(domain: str) -> None:
    for lang in SEVEN:
        review = catalogues.for_review(domain, lang)
        assert review <= catalogues.catalogue(domain, lang).keys(), (domain, lang)
    # English is the source and Russian was written with it; the region's languages are drafts
    # until a native speaker has read them, and say so where the wording is not certain.
    assert not catalogues.for_review(domain, "en")
    for lang in ("kk", "ky", "tg", "tk", "uz"):
        assert catalogues.for_review(domain, lang), (domain, lang)


def test_the_vocabulary_catalogues_label_every_term_and_nothing_else() -> None:
    expected = set(VOCABULARIES)
    expected |= {f"{name}.{term.value}" for name, terms in VOCABULARIES.items() for term in terms}
    assert set(catalogues.catalogue("vocabularies", "en")) == expected


def test_the_statistics_catalogues_name_every_codelist_code_and_concept() -> None:
    keys = set(catalogues.catalogue("statistics", "en"))
    for codelist in CODELISTS.values():
        assert codelist.id in keys
        for code in codelist.codes:
            assert f"{codelist.id}.{code.id}" in keys
            assert (f"{codelist.id}.{code.id}.counts" in keys) == bool(code.counts_en)
    assert {f"concept.{c}" for c in CONCEPTS} <= keys


def test_english_and_russian_codelist_names_agree_with_the_structure() -> None:
    """``schemas.statistics`` still holds English and Russian names (the SDMX data messages
    read them); the catalogues must say the same until they are the only source."""
    for codelist in CODELISTS.values():
        for lang in ("en", "ru"):
            assert catalogues.text("statistics", lang, codelist.id) == getattr(codelist, lang)
            for code in codelist.codes:
                key = f"{codelist.id}.{code.id}"
                assert catalogues.text("statistics", lang, key) == getattr(code, lang)


def test_labels_fall_back_to_english_and_list_every_language() -> None:
    assert catalogues.text("vocabularies", "fr", "languages.uz") == "Uzbek"
    assert catalogues.text("vocabularies", "uz", "languages.uz") == "Oʻzbek tili"
    assert list(catalogues.labels("vocabularies", "languages")) == list(SEVEN)
    assert catalogues.language_of("uz-Latn-UZ") == "uz"
    assert catalogues.language_of("KK") == "kk"
    assert catalogues.language_of("fr-CH") == "en"
    assert catalogues.language_of(None) == "en"
