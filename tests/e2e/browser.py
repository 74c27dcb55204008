"""Headless Chromium for the browser tests: the one way they start it, and what they read back.

The browser and its driver come from Debian (``apt-get install chromium chromium-driver``, as
.ci/run does). Without them a test skips, except in CI, where a browser test must run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def browser_or_skip() -> None:
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    message = (
        f"{CHROMIUM} or {CHROMEDRIVER} is missing: "
        "apt-get install -y chromium chromium-driver (.ci/run does this)"
    )
    if os.environ.get("CI"):
        pytest.fail(message)  # in CI the browser test must run, never silently skip
    pytest.skip(message)


@contextmanager
def chromium(
    profile: Path, *, window: str = "1280,1400", only_host: str | None = None
) -> Iterator[Any]:
    """A headless Chromium with a fresh profile, logging the console and every request.

    With ``only_host``, that name resolves to this machine and every other name to nothing, so
    no request can leave the machine whatever the page asks for.
    """
    browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    arguments = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--lang=en-US",
        f"--window-size={window}",
        f"--user-data-dir={profile}",
    ]
    if only_host is not None:
        arguments.append(f"--host-resolver-rules=MAP {only_host} 127.0.0.1, MAP * ~NOTFOUND")
    for argument in arguments:
        options.add_argument(argument)
    # The performance log holds every request the page makes.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def requests_made(driver: Any) -> list[str]:
    """Every URL the browser asked for since the log was last read."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def redrawn() -> tuple[type[Exception], ...]:
    """What a wait ignores: an element not there yet, or one the page redrew while it looked."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    return (NoSuchElementException, StaleElementReferenceException)
