"""The region's languages on the pages people read: the record pages' words in all seven, the
reader's choice remembered in the ``recnet_lang`` cookie (read before Accept-Language), and the
explorer's catalogues served as static JSON from this origin."""

from __future__ import annotations

import json

import lxml.html
import pytest
from fastapi.testclient import TestClient

from recnet.db import Database
from recnet.schemas import catalogues
from recnet.services.practices import PRACTICES
from tests.factories import make_record

SEVEN = ["en", "ru", "kk", "ky", "tg", "tk", "uz"]


def parse(html: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(html)


def history_heading(page: lxml.html.HtmlElement) -> str:
    return str(page.xpath("string(//*[@id='h-history'])")).strip()


def test_an_uzbek_reader_gets_uzbek_page_words_and_uzbek_text(
    client: TestClient, database: Database
) -> None:
    record = make_record(
        database,
        PRACTICES,
        status="published",
        title={"uz": "Qaytgan bolalar uchun koʻchma sinflar", "en": "Mobile classes"},
        summary={"uz": "Oʻqituvchilar oilalarga boradi.", "en": "Teachers travel."},
    )
    response = client.get(f"/practices/{record.id}", params={"lang": "uz"})
    assert response.status_code == 200
    assert response.headers["content-language"] == "uz"
    page = parse(response.text)
    assert page.get("lang") == "uz"
    assert history_heading(page) == "Versiyalar tarixi"
    assert page.xpath("string(//h1)") == "Qaytgan bolalar uchun koʻchma sinflar"
    # Where the record has no text in the language, the note is in that language too.
    english_only = make_record(database, PRACTICES, status="published")
    page = parse(client.get(f"/practices/{english_only.id}", params={"lang": "uz"}).text)
    notice = str(page.xpath("string(//*[@class='notice'])"))
    assert notice == catalogues.text("pages", "uz", "no_text_in").format(
        asked="Oʻzbek tili", shown="Ingliz tili"
    )
    # The switch offers every language with a page catalogue.
    offered = page.xpath("//nav[@class='langs']//a/@hreflang")
    assert offered == SEVEN


@pytest.mark.parametrize("lang", SEVEN)
def test_every_language_has_its_page_words(
    client: TestClient, database: Database, lang: str
) -> None:
    record = make_record(database, PRACTICES, status="published")
    response = client.get(f"/practices/{record.id}", params={"lang": lang})
    page = parse(response.text)
    assert page.get("lang") == lang
    assert history_heading(page) == catalogues.text("pages", lang, "history")


def test_the_choice_is_remembered_in_a_cookie_read_before_accept_language(
    client: TestClient, database: Database
) -> None:
    record = make_record(database, PRACTICES, status="published")
    path = f"/practices/{record.id}"
    # The browser asks for Russian; the reader has not chosen yet.
    first = client.get(path, headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert parse(first.text).get("lang") == "ru"
    assert "recnet_lang" not in first.headers.get("set-cookie", "")
    assert "Cookie" in first.headers["vary"]

    # The switch is a link with ?lang=: the page answers in Kazakh and remembers it.
    chosen = client.get(path, params={"lang": "kk"}, headers={"Accept-Language": "ru"})
    assert parse(chosen.text).get("lang") == "kk"
    cookie = chosen.headers["set-cookie"]
    assert cookie.startswith("recnet_lang=kk;")
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert "Path=/" in cookie

    # The next page without ?lang= follows the cookie, not Accept-Language.
    later = client.get(path, headers={"Accept-Language": "ru"})
    assert parse(later.text).get("lang") == "kk"
    assert history_heading(parse(later.text)) == catalogues.text("pages", "kk", "history")

    # An unknown value in the cookie is ignored: Accept-Language decides again.
    client.cookies.set("recnet_lang", "xx")
    assert parse(client.get(path, headers={"Accept-Language": "ru"}).text).get("lang") == "ru"
    client.cookies.clear()


@pytest.mark.parametrize("lang", SEVEN)
def test_the_explorer_catalogues_are_static_json_from_this_origin(
    client: TestClient, lang: str
) -> None:
    response = client.get(f"/explorer/messages/{lang}.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    words = json.loads(response.content)
    assert words["practicesFound_other"]
    assert words == json.loads(
        (catalogues.directory("explorer") / f"{lang}.json").read_text(encoding="utf-8")
    )
    page = client.get("/")
    # The script fetches them under the page's policy: same origin, no inline script.
    assert "connect-src 'self'" in page.headers["content-security-policy"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert 'data-lang="' + lang + '"' in page.text
    assert "<script>" not in page.text
    assert client.get("/explorer/messages/xx.json").status_code == 404
