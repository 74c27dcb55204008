"""The upload desk's page (GET /upload): its words, its one script and stylesheet, its policy."""

from __future__ import annotations

import json
import re

import lxml.html
import pytest
from fastapi.testclient import TestClient

from recnet.schemas import catalogues
from recnet.web.upload import SCRIPT_WORDS


def page(client: TestClient, **headers: str) -> lxml.html.HtmlElement:
    response = client.get("/upload", headers=headers)
    assert response.status_code == 200, response.text
    return lxml.html.fromstring(response.text)


def test_the_desk_is_a_page_with_sign_in_and_file_forms(client: TestClient) -> None:
    response = client.get("/upload")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    html = lxml.html.fromstring(response.text)
    assert html.get("lang") == "en"
    assert html.xpath("//input[@id='client-id']")
    assert html.xpath("//input[@id='client-secret']/@type") == ["password"]
    assert html.xpath("//input[@id='statistics-file']/@accept")[0].startswith(".csv,.xlsx")
    assert html.xpath("//input[@id='records-file']")
    assert html.xpath("//a[@href='/v1/statistics/template.xlsx']")
    # Sending for real is off until a dry run has accepted the file.
    assert html.xpath("//button[@id='statistics-send']/@disabled") == ["disabled"]


def test_no_inline_script_nothing_from_elsewhere_and_a_strict_policy(client: TestClient) -> None:
    response = client.get("/upload")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "connect-src 'self';" in policy
    assert "default-src 'none'" in policy
    assert "unsafe-inline" not in policy
    html = lxml.html.fromstring(response.text)
    scripts = html.xpath("//script")
    runnable = [s for s in scripts if s.get("type") != "application/json"]
    assert [s.get("src") for s in runnable] == ["/upload/assets/upload.js"]
    assert all(not (s.text or "").strip() for s in runnable)
    assert not re.search(r"(src|href)=\"(https?:)?//", response.text)
    for asset in ("/upload/assets/upload.js", "/upload/assets/upload.css"):
        assert client.get(asset).status_code == 200
    script = client.get("/upload/assets/upload.js").text
    assert "localStorage" not in script
    assert "sessionStorage" not in script
    assert "document.cookie" not in script


def test_the_script_gets_its_words_as_data_escaped(client: TestClient) -> None:
    html = page(client)
    data = html.xpath("//script[@id='desk-words']")[0]
    assert data.get("type") == "application/json"
    words = json.loads(data.text)
    assert set(words) == set(SCRIPT_WORDS)
    assert words["upload_line"] == "line {n}"


@pytest.mark.parametrize(
    ("asked", "lang", "title"),
    [
        ({"Accept-Language": "ru-RU,ru;q=0.9"}, "ru", "Загрузка данных"),
        ({"Accept-Language": "fr, en;q=0.5"}, "en", "Upload desk"),
    ],
)
def test_the_page_speaks_the_readers_language(
    client: TestClient, asked: dict[str, str], lang: str, title: str
) -> None:
    html = page(client, **asked)
    assert html.get("lang") == lang
    assert html.xpath("string(//h1)") == title
    ru = lxml.html.fromstring(client.get("/upload?lang=ru").text)
    assert ru.xpath("string(//h1)") == "Загрузка данных"


def test_every_language_has_the_desks_words_and_drafts_are_marked() -> None:
    english = catalogues.catalogue("pages", "en")
    keys = {k for k in english if k.startswith("upload_")}
    assert set(SCRIPT_WORDS) <= keys
    for lang in catalogues.LANGUAGES:
        words = catalogues.catalogue("pages", lang)
        assert keys <= set(words), lang
        if lang not in ("en", "ru"):
            assert keys <= set(catalogues.for_review("pages", lang)), lang
