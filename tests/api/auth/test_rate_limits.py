"""Rate limits: per address for anonymous callers, per client otherwise; 429 with Retry-After."""

from __future__ import annotations

import asyncio
import os
import uuid

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.types import ASGIApp

from recnet.app import create_app
from recnet.auth.principal import Role
from recnet.auth.ratelimit import RateLimiter, RedisCounter
from recnet.cli.serve import proxy_options
from recnet.config import Settings
from recnet.db import Database
from tests.conftest import make_settings
from tests.factories import bearer, client_for_role, get_token

REDIS_URL = os.environ.get("RECNET_TEST_REDIS_URL")


def limited_client(database: Database, **limits: object) -> TestClient:
    # An hour-long window, so a test's requests cannot straddle a window boundary.
    settings = make_settings(database.settings.database_url, rate_window_seconds=3600, **limits)
    return TestClient(create_app(settings, database), raise_server_exceptions=False)


def test_anonymous_callers_are_limited_per_address(database: Database) -> None:
    with limited_client(database, rate_anonymous=3) as http:
        answers = [http.get("/v1/organisations") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["ratelimit-remaining"] for a in answers[:3]] == ["2", "1", "0"]
    refused = answers[3]
    assert refused.headers["content-type"] == "application/problem+json"
    assert 0 < int(refused.headers["retry-after"]) <= 3600
    assert refused.headers["ratelimit-limit"] == "3"


def test_clients_are_counted_apart_from_anonymous_callers(database: Database) -> None:
    with limited_client(database, rate_anonymous=3, rate_client=5) as http:
        # The token request counts against the address, like any anonymous request.
        token = get_token(http, client_for_role(database, Role.partner))
        for _ in range(2):
            assert http.get("/v1/organisations").status_code == 200
        assert http.get("/v1/organisations").status_code == 429
        authenticated = [http.get("/v1/organisations", headers=bearer(token)) for _ in range(5)]
        assert all(a.status_code == 200 for a in authenticated)
        assert authenticated[0].headers["ratelimit-limit"] == "5"
        assert http.get("/v1/organisations", headers=bearer(token)).status_code == 429


def test_health_probes_are_not_limited(database: Database) -> None:
    with limited_client(database, rate_anonymous=1) as http:
        assert all(http.get("/v1/health").status_code == 200 for _ in range(5))


@pytest.mark.skipif(REDIS_URL is None, reason="RECNET_TEST_REDIS_URL not set")
def test_redis_shares_counts_between_processes() -> None:
    assert REDIS_URL is not None
    key = f"test:{uuid.uuid4().hex}"
    one, two = RateLimiter(RedisCounter(REDIS_URL)), RateLimiter(RedisCounter(REDIS_URL))
    assert one.hit(key, limit=2, window_seconds=60).count == 1
    assert two.hit(key, limit=2, window_seconds=60).count == 2
    assert one.hit(key, limit=2, window_seconds=60).exceeded


def test_redis_outage_falls_back_to_counting_in_process() -> None:
    limiter = RateLimiter(RedisCounter("redis://127.0.0.1:1/0"))
    assert limiter.hit("k", limit=1, window_seconds=60).count == 1
    assert limiter.hit("k", limit=1, window_seconds=60).exceeded


def _served(settings: Settings, database: Database) -> ASGIApp:
    """The app as `recnet serve` runs it: wrapped by uvicorn with the options serve gives it."""
    config = uvicorn.Config(
        create_app(settings, database), log_config=None, **proxy_options(settings)
    )
    config.load()
    return config.loaded_app


def _statuses(app: ASGIApp, peer: str, forwarded_for: list[str]) -> list[int]:
    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://recnet") as http:
            return [
                (await http.get("/v1/organisations", headers={"X-Forwarded-For": f})).status_code
                for f in forwarded_for
            ]

    return asyncio.run(run())


def test_forwarded_addresses_are_believed_only_from_trusted_proxies(database: Database) -> None:
    """By default no X-Forwarded-For is believed, not even from the loopback: a caller that could
    choose its address would escape every per-address limit (or pin another's)."""
    url = database.settings.database_url
    forged = [f"203.0.113.{n}" for n in range(1, 5)]
    limits = {"rate_anonymous": 3, "rate_window_seconds": 3600}

    untrusting = _served(make_settings(url, **limits), database)
    assert _statuses(untrusting, "127.0.0.1", forged) == [200, 200, 200, 429]

    trusting = _served(make_settings(url, trusted_proxies="10.0.0.0/8", **limits), database)
    assert _statuses(trusting, "10.1.2.3", forged) == [200, 200, 200, 200], "a proxy we run"
    assert _statuses(trusting, "127.0.0.1", forged) == [200, 200, 200, 429], "anyone else"


def test_trusted_proxies_must_be_addresses_or_networks(database: Database) -> None:
    with pytest.raises(ValidationError):
        make_settings(database.settings.database_url, trusted_proxies="*")
    chosen = make_settings(database.settings.database_url, trusted_proxies="10.0.0.1, fd00::/8")
    assert chosen.trusted_proxies == ["10.0.0.1", "fd00::/8"]
