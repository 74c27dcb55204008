"""Faults against a real `recnet serve`: the database goes away, the server is killed mid-import.

SQLite: another connection holds the file's exclusive lock. PostgreSQL: the served instance's own
login role loses CONNECT and LOGIN and its backends are terminated (the shared cluster stays up).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.e2e.test_concurrency import (
    BACKENDS,
    PG_URL,
    STATS,
    admin_execute,
    agency_headers,
    database_for,
    observation_csv,
    pg_database,
    practice_body,
    scalar,
    server,
)

requires_pg = pytest.mark.skipif(PG_URL is None, reason="RECNET_TEST_DATABASE_URL is not set")


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["status"] == 503


def eventually_ok(call: Callable[[], httpx.Response], seconds: float = 20) -> httpx.Response:
    """Retry ``call`` until it answers below 500, for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        response: httpx.Response = call()
        if response.status_code < 500 or time.monotonic() > deadline:
            return response
        time.sleep(0.25)


# ------------------------------------------------------------------ the database goes away


def test_sqlite_locked_by_another_process_gives_503_and_resumes(tmp_path: Path) -> None:
    with (
        database_for("sqlite", tmp_path) as url,
        server(url, RECNET_SQLITE_BUSY_TIMEOUT_MS="200", RECNET_DB_POOL_TIMEOUT="2") as running,
    ):
        headers = agency_headers(running.base, url)

        def post() -> httpx.Response:
            return httpx.post(
                f"{running.base}/v1/practices", json=practice_body(), headers=headers, timeout=30
            )

        assert post().status_code == 201
        before_records = scalar(url, "SELECT count(*) FROM records")
        before_events = scalar(url, "SELECT count(*) FROM events")

        lock = sqlite3.connect(str(make_url(url).database), isolation_level=None, timeout=5)
        try:
            lock.execute("BEGIN EXCLUSIVE")
            started = time.monotonic()
            for _ in range(3):
                assert_unavailable(post())
            stats = httpx.post(
                f"{running.base}{STATS}", content=observation_csv(50, 9),
                headers={**headers, "Content-Type": "text/csv"}, timeout=30,
            )  # fmt: skip
            assert_unavailable(stats)
            assert time.monotonic() - started < 20, "503s should come after the busy timeout"
            ready = httpx.get(f"{running.base}/v1/ready", timeout=30)
            print(f"ready under the lock: {ready.status_code}")
            # WAL readers are not blocked by a writer's lock: ready may stay 200, else it is a 503.
            if ready.status_code != 200:
                assert_unavailable(ready)
            assert httpx.get(f"{running.base}/v1/health", timeout=30).status_code == 200
        finally:
            lock.execute("ROLLBACK")
            lock.close()

        assert scalar(url, "SELECT count(*) FROM records") == before_records, "half-written record"
        assert scalar(url, "SELECT count(*) FROM events") == before_events, "half-written event"
        assert scalar(url, "SELECT count(*) FROM observations") == 0
        resumed = eventually_ok(post)
        assert resumed.status_code == 201, resumed.text[:300]
        assert httpx.get(f"{running.base}/v1/ready", timeout=30).status_code == 200
        assert scalar(url, "SELECT count(*) FROM records") == before_records + 1


@contextmanager
def fault_role(database: str) -> Iterator[str]:
    """A LOGIN role that is a member of recnet_app, dropped afterwards."""
    role = f"recnet_fault_{uuid.uuid4().hex[:8]}"
    admin_execute(f'CREATE ROLE "{role}" LOGIN', f'GRANT recnet_app TO "{role}"')
    try:
        yield role
    finally:
        admin_execute(f'DROP ROLE IF EXISTS "{role}"')


def cut_off(database: str, role: str) -> None:
    admin_execute(
        f'REVOKE CONNECT ON DATABASE "{database}" FROM PUBLIC',
        f'REVOKE CONNECT ON DATABASE "{database}" FROM "{role}"',
        f'ALTER ROLE "{role}" NOLOGIN',
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE usename = '{role}' AND datname = '{database}'",
    )


def restore(database: str, role: str) -> None:
    admin_execute(f'ALTER ROLE "{role}" LOGIN', f'GRANT CONNECT ON DATABASE "{database}" TO PUBLIC')


@requires_pg
def test_postgresql_unreachable_gives_503_and_resumes(tmp_path: Path) -> None:
    with pg_database() as owner_url:
        name = make_url(owner_url).database
        assert name is not None
        with fault_role(name) as role:
            app_url = make_url(owner_url).set(username=role).render_as_string(hide_password=False)
            try:
                with server(app_url, RECNET_DB_POOL_TIMEOUT="2") as running:
                    headers = agency_headers(running.base, owner_url)

                    def post() -> httpx.Response:
                        return httpx.post(
                            f"{running.base}/v1/practices",
                            json=practice_body(),
                            headers=headers,
                            timeout=30,
                        )

                    assert post().status_code == 201
                    before = scalar(owner_url, "SELECT count(*) FROM records")

                    cut_off(name, role)
                    try:
                        started = time.monotonic()
                        for _ in range(3):
                            assert_unavailable(post())
                        assert_unavailable(httpx.get(f"{running.base}/v1/ready", timeout=30))
                        assert_unavailable(
                            httpx.get(f"{running.base}/v1/practices", headers=headers, timeout=30)
                        )
                        assert time.monotonic() - started < 60
                        assert httpx.get(f"{running.base}/v1/health", timeout=30).status_code == 200
                    finally:
                        restore(name, role)

                    assert scalar(owner_url, "SELECT count(*) FROM records") == before
                    resumed = eventually_ok(post)
                    assert resumed.status_code == 201, resumed.text[:300]

                    def ready_probe() -> httpx.Response:
                        return httpx.get(f"{running.base}/v1/ready", timeout=30)

                    ready = eventually_ok(ready_probe)
                    assert ready.status_code == 200
                    assert scalar(owner_url, "SELECT count(*) FROM records") == before + 1
            finally:
                # The role's backends end before DROP ROLE (the database goes WITH FORCE).
                admin_execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE usename = '{role}'"
                )


# ------------------------------------------------------------------ killed mid-import


def audit_verify(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "recnet", "audit", "verify"],
        env={**os.environ, "RECNET_DATABASE_URL": url, "RECNET_ENV": "dev"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigkill_during_a_large_import_leaves_all_or_nothing(backend: str, tmp_path: Path) -> None:
    size = 20_000  # seconds of work: still running when the server is killed after 1 s
    body = observation_csv(size)
    with database_for(backend, tmp_path) as url:
        with server(url) as running:
            headers = {**agency_headers(running.base, url), "Content-Type": "text/csv"}
            events_before = scalar(url, "SELECT count(*) FROM events")
            outcome: dict[str, object] = {}

            def upload() -> None:
                try:
                    outcome["response"] = httpx.post(
                        f"{running.base}{STATS}", content=body, headers=headers, timeout=120
                    )
                except httpx.HTTPError as exc:
                    outcome["error"] = exc

            thread = threading.Thread(target=upload, daemon=True)
            thread.start()
            time.sleep(1.0)
            answered_before_kill = "response" in outcome
            os.kill(running.process.pid, signal.SIGKILL)
            running.process.wait(timeout=15)
            thread.join(timeout=30)
            assert not thread.is_alive(), "the upload did not end after the server died"
            assert not answered_before_kill, (
                "the import finished within 1 s: the kill did not interrupt it"
            )
            assert "error" in outcome, outcome

        with server(url) as again:
            count = scalar(url, "SELECT count(*) FROM observations")
            print(f"after SIGKILL: {count} observations")
            assert count in (0, size), f"{count} of {size} observations survived the kill"
            events_after = scalar(url, "SELECT count(*) FROM events")
            assert events_after in (events_before, events_before + 1)
            if count == 0:
                assert events_after == events_before, "an import event without its observations"
            verified = audit_verify(url)
            assert verified.returncode == 0, verified.stdout + verified.stderr
            # The restarted service works and the same import can be applied.
            retried = httpx.post(f"{again.base}{STATS}", content=body, headers=headers, timeout=120)
            assert retried.status_code == 200, retried.text[:500]
            assert scalar(url, "SELECT count(*) FROM observations") == size
            assert audit_verify(url).returncode == 0


def _writing(backend: str, url: str) -> Callable[[], bool]:
    """A probe that says when the served import has begun writing rows (not only parsing)."""
    if backend == "sqlite":
        wal = Path(f"{make_url(url).database}-wal")
        baseline = wal.stat().st_size if wal.exists() else 0

        def grown() -> bool:
            return wal.exists() and wal.stat().st_size > baseline + 1_048_576

        return grown
    name = make_url(url).database
    assert PG_URL is not None
    from sqlalchemy import create_engine, text

    from recnet.db import normalise_url

    engine = create_engine(normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
    probe = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = :name AND state = 'active' "
        "AND pid <> pg_backend_pid() AND (query ILIKE '%COPY%' OR query ILIKE '%INSERT INTO%' "
        "OR query ILIKE '%statistics_cube%')"
    )

    def writing() -> bool:
        with engine.connect() as connection:
            return bool(connection.execute(probe, {"name": name}).scalar_one())

    return writing


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigkill_while_the_import_writes_leaves_all_or_nothing(
    backend: str, tmp_path: Path
) -> None:
    """As above, but the kill waits until rows are being written (WAL growth / active COPY)."""
    size = 100_000
    body = observation_csv(size)
    with database_for(backend, tmp_path) as url:
        with server(url) as running:
            headers = {**agency_headers(running.base, url), "Content-Type": "text/csv"}
            events_before = scalar(url, "SELECT count(*) FROM events")
            writing = _writing(backend, url)
            outcome: dict[str, object] = {}

            def upload() -> None:
                try:
                    outcome["response"] = httpx.post(
                        f"{running.base}{STATS}", content=body, headers=headers, timeout=120
                    )
                except httpx.HTTPError as exc:
                    outcome["error"] = exc

            thread = threading.Thread(target=upload, daemon=True)
            thread.start()
            deadline = time.monotonic() + 60
            while not writing():
                assert "response" not in outcome, "the import finished before any write was seen"
                assert time.monotonic() < deadline, "no write seen within 60 s"
                time.sleep(0.01)
            os.kill(running.process.pid, signal.SIGKILL)
            running.process.wait(timeout=15)
            thread.join(timeout=30)
            assert not thread.is_alive()
            assert "error" in outcome, outcome

        with server(url):
            count = scalar(url, "SELECT count(*) FROM observations")
            print(f"after SIGKILL while writing: {count} observations")
            assert count in (0, size), f"{count} of {size} observations survived the kill"
            events_after = scalar(url, "SELECT count(*) FROM events")
            assert events_after == events_before + (1 if count else 0)
            cube = scalar(url, "SELECT count(*) FROM statistics_cube")
            assert (cube == 0) == (count == 0), f"cube has {cube} cells for {count} observations"
            verified = audit_verify(url)
            assert verified.returncode == 0, verified.stdout + verified.stderr
