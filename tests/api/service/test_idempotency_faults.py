"""Under faults, a POST with or without ``Idempotency-Key``: nothing half-written, nothing done
twice, no key stuck, no 500.

The real ASGI app on the real databases. Cut uploads and stalled uploads are ASGI conversations
as a server holds them (the body arrives in part, then the client is gone, or nothing more
comes). PostgreSQL's faults go through a TCP proxy the test drives (tests.faultproxy): the
connection cut, stalled, or the reply to COMMIT lost after the server committed.
"""

from __future__ import annotations

import csv
import io
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from recnet.app import create_app
from recnet.auth.principal import Role
from recnet.db import Database
from recnet.models import Event, IdempotencyKey, Observation, Record
from tests.conftest import make_settings, owner_database
from tests.factories import bearer, client_for_role, get_token, practice_body
from tests.faultproxy import FaultProxy, proxied

IMPORT = "/v1/statistics/observations"
PRACTICES = "/v1/practices"
HEADER = ["REF_AREA", "INDICATOR", "SEX", "AGE", "COUNTERPART_AREA", "TIME_PERIOD", "OBS_VALUE"]


@pytest.fixture
def agency(client: TestClient, database: Database) -> dict[str, str]:
    return bearer(get_token(client, client_for_role(database, Role.member_state, "UZB")))


def observations_csv(count: int) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for index in range(count):
        year, month = 1950 + index // 12, index % 12 + 1
        writer.writerow(["UZB", "RETURNED", "F", "Y0T4", "SYR", f"{year}-{month:02d}", 5 + index])
    return buffer.getvalue().encode()


def count(database: Database, table: Any) -> int:
    """Rows of ``table`` as the owner sees them (past row-level security)."""
    with owner_database(database.settings.database_url).transaction(write=False) as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def written(database: Database) -> tuple[int, int, int]:
    return count(database, Record), count(database, Event), count(database, Observation)


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) >= 1


# ------------------------------------------------------------------ ASGI conversations


def _scope(method: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 40000),
        "server": ("recnet", 80),
        "state": {},
    }


async def cut_upload(
    app: FastAPI, path: str, headers: dict[str, str], body: bytes, sent: int
) -> list[dict[str, Any]]:
    """POST ``body`` announcing its whole length; the client disconnects after ``sent`` bytes."""
    incoming: list[dict[str, Any]] = [
        {"type": "http.request", "body": body[:sent], "more_body": True}
    ]
    answer: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        answer.append(message)

    full = {**headers, "content-length": str(len(body))}
    await app(_scope("POST", path, full), receive, send)
    return answer


async def stalled_upload(
    app: FastAPI, path: str, headers: dict[str, str], body: bytes, released: anyio.Event
) -> None:
    """POST whose first half arrives, then nothing until ``released``, then the client leaves."""

    async def receive() -> dict[str, Any]:
        if not first_sent:
            first_sent.append(True)
            return {"type": "http.request", "body": body[: len(body) // 2], "more_body": True}
        await released.wait()
        return {"type": "http.disconnect"}

    async def send(_message: Any) -> None:
        pass

    first_sent: list[bool] = []
    full = {**headers, "content-length": str(len(body))}
    await app(_scope("POST", path, full), receive, send)


def asgi_client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://recnet")


# ------------------------------------------------------------------ 1. cut uploads


@pytest.mark.parametrize("keyed", [True, False], ids=["with-key", "without-key"])
def test_a_cut_upload_is_never_imported_and_its_full_retry_is(
    app: FastAPI, agency: dict[str, str], database: Database, keyed: bool
) -> None:
    body = observations_csv(2_000)
    headers = {**agency, "content-type": "text/csv"}
    if keyed:
        headers["idempotency-key"] = "push-batch-1"
    answer = anyio.run(cut_upload, app, IMPORT, headers, body, len(body) // 2)
    assert [m for m in answer if m["type"] == "http.response.start"] == []  # nobody to answer
    assert written(database) == (0, 0, 0)
    assert count(database, IdempotencyKey) == 0

    retry = TestClient(app).post(IMPORT, content=body, headers=headers)
    assert retry.status_code == 200, retry.text[:300]
    assert retry.json()["counts"]["imported"] == 2_000
    assert count(database, Observation) == 2_000


@pytest.mark.parametrize("keyed", [True, False], ids=["with-key", "without-key"])
def test_a_body_shorter_than_its_content_length_is_refused_unprocessed(
    client: TestClient, agency: dict[str, str], database: Database, keyed: bool
) -> None:
    body = observations_csv(100)
    headers = {**agency, "content-type": "text/csv", "content-length": str(len(body) + 500)}
    if keyed:
        headers["idempotency-key"] = "push-batch-short"
    refused = client.post(IMPORT, content=body, headers=headers)
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert written(database) == (0, 0, 0)
    whole = client.post(IMPORT, content=body, headers={**headers, "content-length": str(len(body))})
    assert whole.status_code == 200
    assert count(database, Observation) == 100


def test_a_client_disconnecting_mid_upload_is_not_an_error(
    app: FastAPI, agency: dict[str, str], database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    body = observations_csv(500)
    headers = {**agency, "content-type": "text/csv"}
    with caplog.at_level(logging.INFO):
        anyio.run(cut_upload, app, IMPORT, headers, body, 100)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    access = [r for r in caplog.records if r.name == "recnet.access"]
    assert [getattr(r, "status", None) for r in access] == [499]
    assert written(database) == (0, 0, 0)


# ------------------------------------------------------------------ 5. stalled uploads


def test_stalled_uploads_hold_no_slot_and_no_lock(
    app: FastAPI, agency: dict[str, str], database: Database
) -> None:
    """More stalled imports than the pool has connections, with and without keys: a PUT beside
    them is answered at once."""
    body = observations_csv(1_000)
    stalled = 2 * (database.settings.pool_size + 1)

    async def scenario() -> tuple[httpx.Response, float]:
        released = anyio.Event()
        async with anyio.create_task_group() as uploads:
            for number in range(stalled):
                headers = {**agency, "content-type": "text/csv"}
                if number % 2:
                    headers["idempotency-key"] = f"stalled-{number}"
                uploads.start_soon(stalled_upload, app, IMPORT, headers, body, released)
            await anyio.sleep(0.3)  # every upload has sent its first half
            started = time.monotonic()
            try:
                with anyio.fail_after(15):
                    async with asgi_client(app) as http:
                        put = await http.put(
                            f"{PRACTICES}/by-ref/STALL-1", json=practice_body(), headers=agency
                        )
            finally:
                released.set()
            return put, time.monotonic() - started

    put, elapsed = anyio.run(scenario)
    assert put.status_code == 201, put.text[:300]
    assert elapsed < 2, elapsed
    assert count(database, Observation) == 0


# ------------------------------------------------------------------ 4. SQLite faults: 503


@pytest.fixture
def sqlite_path(database: Database, backend: str) -> str:
    if backend != "sqlite":
        pytest.skip("SQLite's own write lock")
    path = make_url(database.settings.database_url).database
    assert path is not None
    return path


def test_a_keyed_post_while_sqlite_is_locked_answers_503_then_runs(
    database: Database, agency: dict[str, str], sqlite_path: str
) -> None:
    settings = make_settings(database.settings.database_url, sqlite_busy_timeout_ms=200)
    locked_app = create_app(settings, Database.from_settings(settings))
    headers = {**agency, "Idempotency-Key": "while-locked"}
    lock = sqlite3.connect(sqlite_path, isolation_level=None, timeout=5)
    try:
        lock.execute("BEGIN EXCLUSIVE")
        with TestClient(locked_app, raise_server_exceptions=False) as http:
            assert_unavailable(http.post(PRACTICES, json=practice_body(), headers=headers))
            lock.execute("ROLLBACK")
            created = http.post(PRACTICES, json=practice_body(), headers=headers)
            assert created.status_code == 201, created.text[:300]
            replayed = http.post(PRACTICES, json=practice_body(), headers=headers)
            assert replayed.headers["idempotent-replayed"] == "true"
    finally:
        lock.close()
        locked_app.state.database.dispose()
    assert written(database)[:2] == (1, 1)


# ------------------------------------------------------------------ PostgreSQL behind a proxy


@pytest.fixture
def through_proxy(database: Database, backend: str) -> Iterator[tuple[FaultProxy, FastAPI]]:
    """The app on the test database, its every connection going through a fault proxy."""
    if backend != "postgresql":
        pytest.skip("a wire to cut: PostgreSQL")
    with proxied(database.settings.database_url) as (proxy, url):
        settings = make_settings(url, db_timeout=1, retry_after_seconds=2)
        proxied_app = create_app(settings, Database.from_settings(settings))
        try:
            yield proxy, proxied_app
        finally:
            proxy.restore()
            proxied_app.state.database.dispose()


def test_a_retry_after_a_lost_commit_reply_replays_instead_of_running_again(
    through_proxy: tuple[FaultProxy, FastAPI], agency: dict[str, str], database: Database
) -> None:
    proxy, proxied_app = through_proxy
    headers = {**agency, "Idempotency-Key": "lost-commit-reply"}
    with TestClient(proxied_app, raise_server_exceptions=False) as http:
        proxy.drop_commit_reply(after=b"INSERT INTO records")
        first = http.post(PRACTICES, json=practice_body(), headers=headers)
        assert proxy.commit_replies_dropped == 1
        assert_unavailable(first)  # written or not: unknown to the client, who retries
        retry = http.post(PRACTICES, json=practice_body(), headers=headers)
    assert retry.status_code == 201, retry.text[:300]
    assert retry.headers["idempotent-replayed"] == "true"
    assert written(database)[:2] == (1, 1)


def test_a_key_is_released_when_the_database_goes_away_mid_request(
    through_proxy: tuple[FaultProxy, FastAPI], agency: dict[str, str], database: Database
) -> None:
    proxy, proxied_app = through_proxy
    headers = {**agency, "Idempotency-Key": "database-cut"}
    with TestClient(proxied_app, raise_server_exceptions=False) as http:
        proxy.cut_on(b"INSERT INTO records")
        assert_unavailable(http.post(PRACTICES, json=practice_body(), headers=headers))
        assert proxy.cuts == 1
        assert written(database) == (0, 0, 0)
        proxy.restore()
        started = time.monotonic()
        retry = http.post(PRACTICES, json=practice_body(), headers=headers)
        while retry.status_code == 503 and time.monotonic() - started < 5:
            retry = http.post(PRACTICES, json=practice_body(), headers=headers)
    assert retry.status_code == 201, retry.text[:300]
    assert "idempotent-replayed" not in retry.headers
    assert written(database)[:2] == (1, 1)


@pytest.mark.parametrize("keyed", [True, False], ids=["with-key", "without-key"])
def test_a_stalled_database_is_answered_503_within_the_bound(
    through_proxy: tuple[FaultProxy, FastAPI],
    agency: dict[str, str],
    database: Database,
    keyed: bool,
) -> None:
    proxy, proxied_app = through_proxy
    headers = {**agency, "Idempotency-Key": "stalled-db"} if keyed else agency
    with TestClient(proxied_app, raise_server_exceptions=False) as http:
        assert http.get(PRACTICES, headers=agency).status_code == 200  # connections pooled
        proxy.stall()
        # The stall ends by itself after 8 s, so code with no bound still finishes the test.
        started = time.monotonic()
        timer = threading.Timer(8, proxy.restore)
        timer.start()
        try:
            stalled_post = http.post(PRACTICES, json=practice_body(), headers=headers)
            post_seconds = time.monotonic() - started
            started = time.monotonic()
            stalled_get = http.get(PRACTICES, headers=agency)
            get_seconds = time.monotonic() - started
        finally:
            timer.cancel()
            proxy.restore()
        assert_unavailable(stalled_post)
        assert_unavailable(stalled_get)
        # db_timeout is 1 s: a connection's answer, or a new connection (libpq: 2 s at least).
        assert post_seconds < 3.5, post_seconds
        assert get_seconds < 3.5, get_seconds
        recovered = http.post(PRACTICES, json=practice_body(), headers=headers)
        deadline = time.monotonic() + 5
        while recovered.status_code == 503 and time.monotonic() < deadline:
            recovered = http.post(PRACTICES, json=practice_body(), headers=headers)
    assert recovered.status_code == 201, recovered.text[:300]
    assert written(database)[:2] == (1, 1)


def test_the_proxy_passes_what_it_is_not_told_to_break(
    through_proxy: tuple[FaultProxy, FastAPI], agency: dict[str, str], database: Database
) -> None:
    _proxy, proxied_app = through_proxy
    with TestClient(proxied_app, raise_server_exceptions=False) as http:
        created = http.post(PRACTICES, json=practice_body(), headers=agency)
    assert created.status_code == 201
    with owner_database(database.settings.database_url).transaction(write=False) as session:
        assert session.execute(text("SELECT count(*) FROM records")).scalar_one() == 1


# ------------------------------------------------------------------ "try again later" is not kept


def test_a_rate_limited_answer_is_not_replayed_to_the_retry(
    database: Database, agency: dict[str, str]
) -> None:
    settings = make_settings(database.settings.database_url, rate_client=1)
    headers = {**agency, "Idempotency-Key": "rate-limited"}
    with TestClient(create_app(settings, database), raise_server_exceptions=False) as http:
        assert http.post(PRACTICES, json=practice_body(), headers=agency).status_code == 201
        limited = http.post(PRACTICES, json=practice_body(), headers=headers)
        assert limited.status_code == 429
    # The window has passed (a fresh limiter): the retry runs instead of replaying the 429.
    with TestClient(create_app(settings, database), raise_server_exceptions=False) as http:
        retry = http.post(PRACTICES, json=practice_body(), headers=headers)
    assert retry.status_code == 201, retry.text[:300]
    assert written(database)[:2] == (2, 2)


# ------------------------------------------------------------------ 6. one bound


def test_one_setting_bounds_every_database_wait(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from recnet.config import Settings

    settings = Settings(db_timeout=2.5)
    assert settings.sqlite_busy_timeout_ms == 2500
    sqlite = Database.from_settings(settings, f"sqlite:///{tmp_path / 'bound.db'}")
    postgres = Database.from_settings(settings, "postgresql://nobody@127.0.0.1:1/none")
    assert sqlite.engine.pool.timeout() == 2.5  # type: ignore[attr-defined]
    assert postgres.engine.pool.timeout() == 2.5  # type: ignore[attr-defined]

    async def admission_timeout() -> float:
        return sqlite.admission().timeout

    assert anyio.run(admission_timeout) == 2.5
    monkeypatch.setenv("RECNET_DB_POOL_TIMEOUT", "3")  # the former name is still read
    assert Settings().db_timeout == 3
    assert Settings(sqlite_busy_timeout_ms=100).sqlite_busy_timeout_ms == 100
