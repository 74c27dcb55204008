"""The upload desk in a real headless browser, against a real ``recnet serve``: a data officer
signs in, checks a CSV as Excel saves it in a Russian locale (semicolons, a byte order mark) with
one bad row, sees the row in the dry run with nothing written, sends the corrected file, and the
explorer shows the new figures. No request leaves the service; the token is in no storage."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.e2e.browser import redrawn, requests_made
from tests.e2e.test_record_pages_browser import browser
from tests.served import access_token, cli_client, database_url, served

__all__ = ["browser"]  # the fixture, shared with the record pages' browser test

HEADER = "REF_AREA;INDICATOR;SEX;AGE;COUNTERPART_AREA;TIME_PERIOD;OBS_VALUE"


def _excel_csv(path: Path, lines: list[str]) -> Path:
    """A CSV as a spreadsheet in a Russian locale saves it: semicolons, CRLF, a UTF-8 BOM."""
    path.write_bytes("\ufeff".encode() + "\r\n".join([HEADER, *lines, ""]).encode())
    return path


def test_the_desk_checks_a_russian_excel_csv_then_sends_it_and_the_explorer_shows_it(
    tmp_path: Path, browser: object
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import WebDriverWait

    assert isinstance(browser, WebDriver)
    driver = browser
    wait = WebDriverWait(driver, 30, ignored_exceptions=redrawn())
    shots = tmp_path / "screenshots"
    shots.mkdir()
    bad = _excel_csv(
        tmp_path / "bad.csv",
        ["UZB;RETURNED;F;Y18T59;SYR;2023;120", "UZB;RETURNED;M;Y18T59;SYRIA;2023;80"],
    )
    good = _excel_csv(
        tmp_path / "good.csv",
        ["UZB;RETURNED;F;Y18T59;SYR;2023;120", "UZB;RETURNED;M;Y18T59;SYR;2023;80"],
    )
    with served(tmp_path) as (base, _):
        officer = cli_client(database_url(tmp_path), "UZB", "statistics:write practices:write")
        token = access_token(base, officer)

        def stored() -> list[dict[str, object]]:
            answer = httpx.get(
                f"{base}/v1/statistics/observations",
                params={"ref_area": "UZB", "start_period": "2023"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert answer.status_code == 200, answer.text
            items: list[dict[str, object]] = answer.json()["items"]
            return items

        driver.get(f"{base}/upload")
        driver.find_element(By.ID, "client-id").send_keys(officer["client_id"])
        driver.find_element(By.ID, "client-secret").send_keys(officer["client_secret"])
        driver.find_element(By.ID, "sign-in-button").click()
        wait.until(lambda d: d.find_element(By.ID, "statistics").is_displayed())
        assert "UZB" in driver.find_element(By.ID, "who-text").text
        assert driver.find_element(By.ID, "client-secret").get_attribute("value") == ""
        driver.save_screenshot(str(shots / "1-signed-in.png"))

        # The dry run of the file with a bad row: the row, its column, nothing written.
        driver.find_element(By.ID, "statistics-file").send_keys(str(bad))
        driver.find_element(By.ID, "statistics-check").click()
        report = "#statistics-report .report"
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, report))
        assert driver.find_element(By.CSS_SELECTOR, report).get_attribute("data-status") == "ERROR"
        problem = driver.find_element(By.CSS_SELECTOR, "#statistics-report tr[data-row='3']")
        assert "line 3" in problem.text
        assert "COUNTERPART_AREA" in problem.text
        assert "codelist" in problem.text
        assert not driver.find_elements(By.CSS_SELECTOR, "#statistics-report tr[data-row='2']")
        assert not driver.find_element(By.ID, "statistics-send").is_enabled()
        driver.save_screenshot(str(shots / "2-dry-run-refused.png"))
        assert stored() == []

        # The corrected file: the dry run passes, writes nothing, and only then may it be sent.
        driver.find_element(By.ID, "statistics-file").send_keys(str(good))
        driver.find_element(By.ID, "statistics-check").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f"{report}[data-status='OK']"))
        imported = "#statistics-report dd[data-count='imported']"
        assert driver.find_element(By.CSS_SELECTOR, imported).text == "2"
        assert "nothing has been written" in driver.find_element(By.ID, "statistics-report").text
        assert stored() == []
        send = driver.find_element(By.ID, "statistics-send")
        assert send.is_enabled()
        driver.save_screenshot(str(shots / "3-dry-run-ok.png"))
        send.click()
        wait.until(lambda d: "Done" in d.find_element(By.ID, "statistics-report").text)
        assert driver.find_element(By.CSS_SELECTOR, imported).text == "2"
        assert not send.is_enabled(), "sent once: a second send needs a new check"
        driver.save_screenshot(str(shots / "4-sent.png"))
        assert sorted(item["OBS_VALUE"] for item in stored()) == [80, 120]

        # The token was never stored: not in web storage, not in a cookie.
        assert driver.execute_script("return localStorage.length + sessionStorage.length") == 0
        assert driver.get_cookies() == []

        # The explorer shows the new figures: UZB's 2023 total of 200.
        driver.get(f"{base}/")
        table = "#chart-area table"
        wait.until(lambda d: "2023" in (_text_content(d, table)))
        assert "200" in _text_content(driver, table)
        driver.save_screenshot(str(shots / "5-explorer.png"))

        outside = [
            url
            for url in requests_made(driver)
            # (The browser's own chrome:// pages at start-up are not the page's requests.)
            if url.startswith(("http:", "https:", "ws:", "wss:")) and not url.startswith(base)
        ]
        assert outside == []
    assert len(list(shots.glob("*.png"))) == 5


def _text_content(driver: object, selector: str) -> str:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, selector)  # type: ignore[attr-defined]
    return " ".join(str(e.get_attribute("textContent") or "") for e in found)
