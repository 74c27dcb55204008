"""The explorer page at ``/`` in a real headless browser, against a real ``recnet serve``.

Data goes in through the API as a member state would push it; the page then reads it back
anonymously, so the test also shows that the page sees only what anyone may see.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.browser import chromium, redrawn
from tests.factories import practice_body, programme_body
from tests.served import access_token, cli_client, served

SCREENSHOT_COPY = Path("/tmp/recnet-explorer.png")
PROGRAMMES = 23  # one more page than the list's 20

# Parts only (sex by age band, from Syria): the service derives the totals the charts read.
# KAZ's 2021 figure of 2 is below the minimum cell, so anonymous readers see it withheld.
STATISTICS = {
    "UZB": [
        ("F", "Y5T11", "2021", 40),
        ("M", "Y5T11", "2021", 35),
        ("F", "Y18T59", "2021", 60),
        ("M", "Y18T59", "2021", 25),
        ("F", "Y0T4", "2022", 3),
        ("M", "Y0T4", "2022", 12),
        ("F", "Y5T11", "2022", 28),
        ("M", "Y5T11", "2022", 31),
        ("F", "Y12T17", "2022", 9),
        ("M", "Y12T17", "2022", 7),
        ("F", "Y18T59", "2022", 44),
        ("M", "Y18T59", "2022", 19),
    ],
    "KAZ": [
        ("F", "Y18T59", "2021", 2),
        ("F", "Y18T59", "2022", 30),
        ("M", "Y18T59", "2022", 26),
    ],
}


def _token(base: str, database_url: str, organisation: str) -> str:
    """A member state's token, from a client registered with the CLI as an operator would."""
    scopes = "practices:write programmes:write statistics:write"
    return access_token(base, cli_client(database_url, organisation, scopes))


def _load(base: str, database_url: str) -> None:
    for organisation, rows in STATISTICS.items():
        headers = {"Authorization": f"Bearer {_token(base, database_url, organisation)}"}
        table = "REF_AREA,INDICATOR,SEX,AGE,COUNTERPART_AREA,TIME_PERIOD,OBS_VALUE\n" + "".join(
            f"{organisation},RETURNED,{sex},{age},SYR,{year},{value}\n"
            for sex, age, year, value in rows
        )
        imported = httpx.post(
            f"{base}/v1/statistics/observations",
            content=table,
            headers={**headers, "Content-Type": "text/csv"},
        )
        assert imported.status_code == 200, imported.text
        if organisation != "UZB":
            continue
        practices = [
            practice_body(status="published"),
            practice_body(
                status="published",
                title={
                    "en": "Vocational training for returned women",
                    "ru": "Профессиональное обучение вернувшихся женщин",
                },
                summary={
                    "en": "Courses in tailoring and baking <b>with</b> childcare.",
                    "ru": "Курсы шитья и выпечки с присмотром за детьми.",
                },
                approaches=["education"],
            ),
            # Not CLEAR: an anonymous reader, and so the page, must never see it.
            practice_body(
                status="published",
                tlp="GREEN",
                title={"en": "Partner-only vocational pilot", "ru": "Пилот для партнёров"},
            ),
        ]
        for body in practices:
            created = httpx.post(f"{base}/v1/practices", json=body, headers=headers)
            assert created.status_code == 201, created.text
        # More programmes than one page of the list holds, and one the public may not see.
        for n in range(PROGRAMMES):
            title = {"en": f"Programme {n:02d}", "ru": f"Программа {n:02d}"}
            created = httpx.post(
                f"{base}/v1/programmes",
                json=programme_body(status="published", title=title),
                headers=headers,
            )
            assert created.status_code == 201, created.text
        hidden = programme_body(status="published", tlp="AMBER", title={"en": "Amber operation"})
        assert httpx.post(f"{base}/v1/programmes", json=hidden, headers=headers).is_success


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    with chromium(tmp_path / "chromium-profile") as driver:
        yield driver


def test_explorer_draws_the_figures_lists_practices_and_programmes_and_links_their_pages(
    tmp_path: Path, browser: object
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import WebDriverWait

    assert isinstance(browser, WebDriver)
    driver = browser
    wait = WebDriverWait(driver, 20, ignored_exceptions=redrawn())
    database_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    with served(tmp_path) as (base, _):
        _load(base, database_url)
        page = httpx.get(f"{base}/")
        assert page.status_code == 200
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert "/" not in httpx.get(f"{base}/v1/openapi.json").json()["paths"]

        driver.get(f"{base}/")

        # Both charts drawn: bars for published figures, withheld cells hatched, not as zero.
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#chart-area svg rect.bar"))
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#chart-sexage svg rect.bar"))
        withheld = driver.find_elements(By.CSS_SELECTOR, "svg rect.withheld")
        assert withheld, "no withheld cell is drawn"
        assert {w.get_attribute("data-conf") for w in withheld} <= {"C", "D"}
        assert "C" in {w.get_attribute("data-conf") for w in withheld}
        # KAZ 2021 (2 persons) is withheld in the by-state chart, and says so in its table.
        area_cells = driver.find_elements(By.CSS_SELECTOR, "#chart-area td.withheld-cell")
        assert any("withheld" in (c.get_attribute("textContent") or "") for c in area_cells), [
            c.get_attribute("textContent") for c in area_cells
        ]
        caption = driver.find_element(By.CSS_SELECTOR, "#chart-sexage ~ figcaption").text
        assert "2022" in caption  # the latest year is drawn

        # Only the CLEAR practices, with the API's text shown as text.
        items = "#practices > li"
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, items)) == 2)
        titles = {e.text for e in driver.find_elements(By.CSS_SELECTOR, "#practices .record-title")}
        assert titles == {
            "Mobile classes for returned children",
            "Vocational training for returned women",
        }
        assert not driver.find_elements(By.CSS_SELECTOR, "#practices b")
        assert "<b>with</b>" in driver.find_element(By.ID, "practices").text
        assert driver.find_element(By.ID, "practice-count").text == "2 good practices"
        assert not driver.find_element(By.ID, "practices-more").is_displayed()

        # Programmes beside them, a page at a time: "load more" follows the API's next_cursor.
        programmes = "#programmes > li"
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, programmes)) == 20)
        more = driver.find_element(By.ID, "programmes-more")
        assert more.is_displayed()
        more.click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, programmes)) == PROGRAMMES)
        assert not more.is_displayed()
        shown = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#programmes .record-title")]
        assert sorted(shown) == [f"Programme {n:02d}" for n in range(PROGRAMMES)], shown
        assert driver.find_element(By.ID, "programme-count").text == f"{PROGRAMMES} programmes"

        # Every item links to its page.
        for link in driver.find_elements(By.CSS_SELECTOR, ".records .record-title"):
            href = link.get_attribute("href")
            assert href.startswith(f"{base}/practices/") or href.startswith(f"{base}/programmes/")
            assert href.endswith("?lang=en")

        # The charts' figures as CSV: what each chart draws.
        for chart in ("csv-area", "csv-sexage"):
            href = driver.find_element(By.ID, chart).get_attribute("href")
            download = httpx.get(href)
            assert download.status_code == 200, href
            assert download.headers["content-type"].startswith("text/csv")
            header = download.text.splitlines()[0]
            assert {"TIME_PERIOD", "OBS_VALUE"} <= set(header.split(","))
        sexage = httpx.get(driver.find_element(By.ID, "csv-sexage").get_attribute("href")).text
        periods = {row["TIME_PERIOD"] for row in csv.DictReader(io.StringIO(sexage))}
        assert periods == {"2022"}, "the chart draws the latest year only"

        # Search narrows both lists; a title opens the record's page.
        box = driver.find_element(By.ID, "q")
        box.send_keys("vocational")
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, items)) == 1)
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, programmes))
        only = driver.find_element(By.CSS_SELECTOR, "#practices .record-title")
        assert only.text == "Vocational training for returned women"
        assert "Education" in driver.find_element(By.ID, "practices").text
        only_title = only.text
        only.click()
        wait.until(lambda d: d.find_element(By.TAG_NAME, "h1").text == only_title)
        assert "/practices/" in driver.current_url
        assert "<b>with</b>" in driver.find_element(By.CLASS_NAME, "summary").text
        driver.back()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, items))

        # Russian: the page's own labels, and the API's text in Russian.
        driver.find_element(By.CSS_SELECTOR, "button[data-lang='ru']").click()
        wait.until(lambda d: d.find_element(By.ID, "h-practices").text == "Эффективные практики")
        assert driver.find_element(By.ID, "h-programmes").text == "Программы"
        box = driver.find_element(By.ID, "q")
        box.clear()
        box.send_keys("vocational")
        box.submit()
        wait.until(
            lambda d: (
                d.find_element(By.CSS_SELECTOR, "#practices .record-title").text
                == "Профессиональное обучение вернувшихся женщин"
            )
        )
        link = driver.find_element(By.CSS_SELECTOR, "#practices .record-title")
        assert link.get_attribute("href").endswith("?lang=ru")
        assert driver.find_element(By.ID, "practice-count").text == "1 практика"
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ru"
        feed = driver.find_element(By.CSS_SELECTOR, "a[href^='/v1/feeds/practices.atom']")
        assert feed.get_attribute("href").endswith("lang=ru")
        box = driver.find_element(By.ID, "q")
        box.clear()
        box.submit()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, items)) == 2)
        wait.until(lambda d: d.find_element(By.ID, "programme-count").text == "20 программ")

        severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not severe, severe

        screenshot = tmp_path / "explorer.png"
        assert driver.save_screenshot(str(screenshot))
        shutil.copyfile(screenshot, SCREENSHOT_COPY)


LANGUAGE_SHOTS = Path("/tmp/recnet-explorer-languages")
SEVEN = ("en", "ru", "kk", "ky", "tg", "tk", "uz")


def _overflow(driver: object) -> int:
    """How far the page is wider than its window (0 or less: no horizontal scrolling)."""
    return int(
        driver.execute_script(  # type: ignore[attr-defined]
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
    )


def test_explorer_in_every_language_at_desktop_and_phone_widths(
    tmp_path: Path, browser: object
) -> None:
    """Each of the seven languages at 1280 and 390 px: the page's words from its catalogue, counts
    in the language's plural forms, the switch wholly inside the window, no horizontal overflow,
    no console error. The browser's language decides first; the reader's choice is remembered
    (for the explorer and for the record pages)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import WebDriverWait

    from recnet.schemas.catalogues import catalogue

    assert isinstance(browser, WebDriver)
    driver = browser
    wait = WebDriverWait(driver, 20, ignored_exceptions=redrawn())
    shots = tmp_path / "languages"
    shots.mkdir()
    database_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    with served(tmp_path) as (base, _):
        _load(base, database_url)

        # A browser that asks for Kazakh first, with no choice remembered: Kazakh.
        driver.execute_cdp_cmd(
            "Network.setUserAgentOverride",
            {"userAgent": driver.execute_script("return navigator.userAgent"),
             "acceptLanguage": "kk-KZ,kk,ru"},
        )  # fmt: skip
        driver.get(f"{base}/")
        kazakh = catalogue("explorer", "kk")
        wait.until(lambda d: d.find_element(By.ID, "h-practices").text == kazakh["practices"])
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "kk"
        driver.execute_cdp_cmd(
            "Network.setUserAgentOverride",
            {"userAgent": driver.execute_script("return navigator.userAgent"),
             "acceptLanguage": "en-US,en"},
        )  # fmt: skip

        for width in (1280, 390):
            driver.set_window_size(width, 1400)
            for lang in SEVEN:
                words = catalogue("explorer", lang)
                driver.find_element(By.CSS_SELECTOR, f"button[data-lang='{lang}']").click()
                wait.until(
                    lambda d, w=words: d.find_element(By.ID, "h-practices").text == w["practices"]
                )
                wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#chart-sexage svg rect.bar"))
                wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#practices > li")) == 2)
                html = driver.find_element(By.TAG_NAME, "html")
                assert html.get_attribute("lang") == lang
                assert driver.find_element(By.ID, "h-area").text == words["byArea"]
                # Two practices, in the language's plural form for 2.
                form = driver.execute_script(
                    "return new Intl.PluralRules(arguments[0]).select(2)", lang
                )
                expected = words.get(f"practicesFound_{form}", words["practicesFound_other"])
                count = driver.find_element(By.ID, "practice-count").text
                assert count == expected.replace("{n}", "2"), (lang, count)
                pressed = driver.find_element(By.CSS_SELECTOR, "button[aria-pressed='true']")
                assert pressed.get_attribute("data-lang") == lang
                # Every button of the switch lies inside the window, and nothing overflows.
                inner = driver.execute_script("return document.documentElement.clientWidth")
                for button in driver.find_elements(By.CSS_SELECTOR, ".langs button"):
                    box = button.rect
                    assert box["x"] >= 0, (lang, width, button.text)
                    assert box["x"] + box["width"] <= inner, (lang, width, button.text, box)
                assert _overflow(driver) <= 0, (lang, width, _overflow(driver))
                assert driver.save_screenshot(str(shots / f"explorer-{lang}-{width}.png"))
                severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
                assert not severe, (lang, width, severe)

        # One good practice, not "1 good practices", in English.
        driver.set_window_size(1280, 1400)
        driver.find_element(By.CSS_SELECTOR, "button[data-lang='en']").click()
        box = driver.find_element(By.ID, "q")
        box.send_keys("vocational")
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#practices > li")) == 1)
        wait.until(lambda d: d.find_element(By.ID, "practice-count").text == "1 good practice")

        # The choice is remembered: a new visit without ?lang= (the browser still asks for
        # English) is in Uzbek, and so is a record page reached without ?lang=.
        driver.find_element(By.CSS_SELECTOR, "button[data-lang='uz']").click()
        uzbek = catalogue("explorer", "uz")
        wait.until(lambda d: d.find_element(By.ID, "h-practices").text == uzbek["practices"])
        driver.get(f"{base}/")
        wait.until(lambda d: d.find_element(By.ID, "h-practices").text == uzbek["practices"])
        assert driver.execute_script("return localStorage.getItem('recnet_lang')") == "uz"
        assert driver.get_cookie("recnet_lang")["value"] == "uz"
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#practices .record-title"))
        href = driver.find_element(By.CSS_SELECTOR, "#practices .record-title").get_attribute(
            "href"
        )
        driver.get(href.split("?")[0])
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "uz"
        history = driver.find_element(By.ID, "h-history").text
        assert history == catalogue("pages", "uz")["history"]

        severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not severe, severe

    LANGUAGE_SHOTS.mkdir(exist_ok=True)
    for shot in shots.iterdir():
        shutil.copyfile(shot, LANGUAGE_SHOTS / shot.name)
    assert len(list(shots.iterdir())) == 2 * len(SEVEN)
