"""Record pages in a real headless browser, against a real ``recnet serve``: English, Russian and
Uzbek, a phone's width, no console error, no request outside the service, and a feed reader's
link that opens the page.

Uzbek has its interface catalogue: the page's own words are Uzbek, and the record's text is Uzbek
wherever the agency wrote it; a record without Uzbek text is shown in English, with a note (in
Uzbek) saying so.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import feedparser
import httpx
import pytest

from recnet.schemas.catalogues import catalogue
from tests.e2e.browser import chromium, requests_made
from tests.factories import practice_body, programme_body
from tests.served import access_token, cli_client, database_url, served

SCREENSHOTS = Path("/tmp/recnet-record-pages")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    with chromium(tmp_path / "chromium-profile", window="1280,1000") as driver:
        yield driver


def _publish(base: str, tmp_path: Path) -> dict[str, str]:
    agency = cli_client(database_url(tmp_path), "UZB", "practices:write programmes:write")
    headers = {"Authorization": f"Bearer {access_token(base, agency)}"}
    bodies = {
        "bilingual": ("practices", practice_body(status="published")),
        "uzbek": (
            "practices",
            practice_body(
                status="published",
                title={
                    "uz": "Qaytgan bolalar uchun koʻchma sinflar",
                    "en": "Mobile classes (Uzbek original)",
                },
                summary={"uz": "Oʻqituvchilar uzoq tumanlardagi oilalarga boradi."},
            ),
        ),
        "programme": ("programmes", programme_body(status="published")),
    }
    paths = {}
    for name, (plural, body) in bodies.items():
        created = httpx.post(f"{base}/v1/{plural}", json=body, headers=headers)
        assert created.status_code == 201, created.text
        paths[name] = f"/{plural}/{created.json()['id']}"
    return paths


def _text(driver: object, selector: str) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.CSS_SELECTOR, selector).text)  # type: ignore[attr-defined]


def test_record_pages_in_english_russian_and_uzbek_and_from_a_feed_reader(
    tmp_path: Path, browser: object
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    assert isinstance(browser, WebDriver)
    driver = browser
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with served(tmp_path) as (base, _):
        paths = _publish(base, tmp_path)
        seen: list[str] = []

        def visit(path: str, name: str, status: int = 200) -> None:
            driver.get(f"{base}{path}")
            assert driver.save_screenshot(str(shots / f"{name}.png"))
            seen.extend(requests_made(driver))
            # The browser reports a 404 answer as an error: the one the test asked for is not.
            expected = f"{base}{path} - Failed to load resource: the server responded with a "
            severe = [
                e
                for e in driver.get_log("browser")
                if e["level"] == "SEVERE"
                and not (status == 404 and e["message"].startswith(expected))
            ]
            assert not severe, (name, severe)
            # Nothing wider than the window: no horizontal scrolling.
            overflow = driver.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, (name, overflow)

        bilingual = paths["bilingual"]
        visit(bilingual, "practice-en")
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
        assert _text(driver, "h1") == "Mobile classes for returned children"
        assert "Psychosocial support, health and education" in _text(driver, "dl.facts")
        assert _text(driver, "#h-history") == "Version history"
        # The stylesheet applied: the facts are laid out as a grid.
        facts = driver.find_element(By.CSS_SELECTOR, "dl.facts")
        assert facts.value_of_css_property("display") == "grid"

        # The language switch is a plain link; the page answers in Russian.
        driver.find_element(By.CSS_SELECTOR, "nav.langs a[hreflang='ru']").click()
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ru"
        assert _text(driver, "h1") == "Мобильные классы для вернувшихся детей"
        assert _text(driver, "#h-history") == "История версий"
        visit(f"{bilingual}?lang=ru", "practice-ru")

        # Uzbek where the record has no Uzbek text: English text, Uzbek words, and a note.
        visit(f"{bilingual}?lang=uz", "practice-uz-fallback")
        assert _text(driver, "h1") == "Mobile classes for returned children"
        assert _text(driver, ".notice") == catalogue("pages", "uz")["no_text_in"].format(
            asked="Oʻzbek tili", shown="Ingliz tili"
        )
        # Uzbek where it has: the text is Uzbek (and says so), and the page's own words too.
        visit(f"{paths['uzbek']}?lang=uz", "practice-uz")
        heading = driver.find_element(By.TAG_NAME, "h1")
        assert heading.text == "Qaytgan bolalar uchun koʻchma sinflar"
        assert heading.get_attribute("lang") == "uz"
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "uz"
        assert _text(driver, "#h-history") == "Versiyalar tarixi"
        assert not driver.find_elements(By.CSS_SELECTOR, ".notice")
        driver.set_window_size(390, 844)
        visit(f"{paths['uzbek']}?lang=uz", "practice-uz-390")
        driver.set_window_size(1280, 1000)

        visit(f"{paths['programme']}?lang=ru", "programme-ru")
        assert "1 000 000,00 USD" in _text(driver, "table.budgets").replace("\u202f", " ")

        # A phone's width: nothing spills sideways.
        driver.set_window_size(390, 844)
        visit(f"{paths['programme']}?lang=ru", "programme-ru-390")
        visit(f"{bilingual}?lang=ru", "practice-ru-390")
        driver.set_window_size(1280, 1000)

        # The last language chosen is remembered: a page without ?lang= is in Russian.
        visit(bilingual, "practice-remembered-ru")
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ru"
        # A new reader (no cookie) whose browser asks for English from here on.
        driver.delete_all_cookies()

        # The one 404 page, for what the reader may not see.
        visit("/practices/00000000-0000-0000-0000-000000000000", "not-found", status=404)
        assert _text(driver, "h1") == "Page not found"

        # A feed reader's view: feedparser fetches the feed and resolves each entry's link.
        feed = feedparser.parse(f"{base}/v1/feeds/practices.atom")
        assert feed.bozo == 0, feed.get("bozo_exception")
        assert feed.entries
        for entry in feed.entries:
            assert entry.link.startswith(f"{base}/practices/"), entry.link
        entry = next(e for e in feed.entries if e.link.endswith(bilingual))
        visit(entry.link.removeprefix(base), "from-feed")
        assert driver.current_url == entry.link
        assert _text(driver, "h1") == entry.title

        # The browser's own pages (its new tab at start-up) are not the service's doing.
        own = ("chrome://", "chrome-untrusted://", "about:", "data:")
        outside = [u for u in seen if not (u.startswith(base) or u.startswith(own))]
        assert seen, "the performance log recorded no request"
        assert not outside, outside

    SCREENSHOTS.mkdir(exist_ok=True)
    for shot in shots.iterdir():
        shutil.copyfile(shot, SCREENSHOTS / shot.name)
    assert len(list(shots.iterdir())) >= 8
