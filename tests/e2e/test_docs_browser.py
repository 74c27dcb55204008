"""The documentation pages in a real headless browser, against a real ``recnet serve``.

The browser reaches the service under a name that is not localhost (``recnet.test``), as a user
of a deployment would, because Swagger UI behaves differently on localhost (it does not ask its
online validator there). Every other name resolves nowhere, so nothing can leave the machine, and
every request the pages make is recorded from Chrome's DevTools log: any to another origin fails
the test, whether or not it could have succeeded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.browser import chromium, redrawn
from tests.served import cli_client, database_url, served

HOST = "recnet.test"
NETWORK_SCHEMES = ("http", "https", "ws", "wss", "ftp")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    with chromium(tmp_path / "chromium-profile", only_host=HOST) as driver:
        yield driver


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def _requested(driver: Any) -> list[str]:
    """Every URL the page asked for since the last call (DevTools ``Network.requestWillBeSent``)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _elsewhere(urls: list[str], origin: str) -> list[str]:
    """The URLs that would leave the service: network requests to another origin (data:, blob:
    and the browser's own chrome: pages never touch the network)."""
    return [
        url
        for url in urls
        if urlsplit(url).scheme in NETWORK_SCHEMES and _origin(url) != _origin(origin)
    ]


def _severe(driver: Any) -> list[dict[str, Any]]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_docs_and_redoc_load_nothing_from_outside_the_service(tmp_path: Path, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser
    wait = WebDriverWait(driver, 30, ignored_exceptions=redrawn())
    with served(tmp_path) as (base, _):
        origin = f"http://{HOST}:{urlsplit(base).port}"

        driver.get(f"{origin}/docs")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock"))
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".btn.authorize"))
        swagger = _requested(driver)
        assert f"{origin}/v1/openapi.json" in swagger
        assert _elsewhere(swagger, origin) == []
        assert _severe(driver) == []

        driver.get(f"{origin}/redoc")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".menu-content"))
        # Until the side menu's logo is drawn or a request has gone elsewhere, so the check sees
        # the request the logo makes, not a moment before it.
        redoc: list[str] = []

        def settled(d: Any) -> bool:
            redoc.extend(_requested(d))
            return bool(_elsewhere(redoc, origin)) or bool(
                d.execute_script(
                    "const img = document.querySelector('.menu-content a img');"
                    "return img !== null && img.complete && img.naturalWidth > 0;"
                )
            )

        wait.until(settled)
        assert _elsewhere(redoc, origin) == []
        assert f"{origin}/v1/openapi.json" in redoc
        logo = driver.find_element(By.CSS_SELECTOR, ".menu-content a img")
        assert _origin(logo.get_attribute("src")) == _origin(origin)
        assert _severe(driver) == []


def test_swagger_authorize_gets_a_token_and_calls_an_authenticated_route(
    tmp_path: Path, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser
    wait = WebDriverWait(driver, 30, ignored_exceptions=redrawn())
    with served(tmp_path) as (base, _):
        client = cli_client(database_url(tmp_path), "UZB", "feeds:read subscriptions:write")
        origin = f"http://{HOST}:{urlsplit(base).port}"
        driver.get(f"{origin}/docs")

        # Authorize: client id and secret, one of the client's scopes ticked.
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".btn.authorize")).click()
        wait.until(lambda d: d.find_element(By.ID, "client_id_clientCredentials"))
        driver.find_element(By.ID, "client_id_clientCredentials").send_keys(client["client_id"])
        driver.find_element(By.ID, "client_secret_clientCredentials").send_keys(
            client["client_secret"]
        )
        driver.find_element(By.CSS_SELECTOR, "label[for^='feeds:read-clientCredentials']").click()
        driver.find_element(By.CSS_SELECTOR, ".auth-btn-wrapper .authorize").click()
        wait.until(
            lambda d: any(h.text == "Authorized" for h in d.find_elements(By.CSS_SELECTOR, "h6"))
        )
        driver.find_element(By.CSS_SELECTOR, ".auth-btn-wrapper .btn-done").click()

        # Try it out on a route that needs a token: who the token speaks for.
        operation = driver.find_element(By.ID, "operations-auth-get_caller")
        operation.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
        wait.until(lambda _: operation.find_elements(By.CSS_SELECTOR, ".try-out__btn"))
        operation.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
        wait.until(lambda _: operation.find_elements(By.CSS_SELECTOR, ".execute"))
        operation.find_element(By.CSS_SELECTOR, ".execute").click()
        status = wait.until(
            lambda _: operation.find_element(
                By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_status"
            )
        )
        assert status.text.strip() == "200"
        body = operation.find_element(
            By.CSS_SELECTOR, ".live-responses-table tr.response .microlight"
        )
        caller = json.loads(body.text)
        assert caller["client_id"] == client["client_id"]
        assert caller["organisation"] == "UZB"
        assert caller["scopes"] == ["feeds:read"]  # what was ticked, not all the client holds

        requested = _requested(driver)
        assert f"{origin}/v1/auth/token" in requested
        assert _elsewhere(requested, origin) == []
        assert _severe(driver) == []
