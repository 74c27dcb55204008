"""Fixtures of the record lists' direct-path tests."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from recnet.app import create_app
from recnet.auth import ratelimit
from recnet.db import Database


@pytest.fixture
def still_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rate limiter's clock stands still, 20 s into a window: two apps asked one after the
    other count alike, whenever the test runs."""
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 1_000_000_040.0))


@pytest.fixture
def apps(database: Database) -> Iterator[tuple[TestClient, TestClient]]:
    """The app as served (direct path on) and the same app with the route alone."""
    settings = database.settings.model_copy(update={"rate_anonymous": 1000, "rate_client": 1000})
    direct = create_app(settings, database)
    routed = create_app(settings.model_copy(update={"direct_reads": False}), database)
    with (
        TestClient(direct, raise_server_exceptions=False) as one,
        TestClient(routed, raise_server_exceptions=False) as other,
    ):
        yield one, other
