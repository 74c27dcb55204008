"""Concurrency against a real `recnet serve`: parallel requests through real connections.

Each test runs on the embedded SQLite file and, when ``RECNET_TEST_DATABASE_URL`` names a
PostgreSQL server, on a fresh PostgreSQL database served by two uvicorn worker processes.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from recnet.db import normalise_url, upgrade
from tests.served import _free_port, access_token, cli_client

PG_URL = os.environ.get("RECNET_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
STATS = "/v1/statistics/observations"
HEADER = ["REF_AREA", "INDICATOR", "SEX", "AGE", "COUNTERPART_AREA", "TIME_PERIOD", "OBS_VALUE"]


# ------------------------------------------------------------------ helpers (used by test_faults)


def admin_execute(*statements: str, url: str | None = None) -> None:
    """Run statements as the PostgreSQL superuser, outside a transaction."""
    assert PG_URL is not None
    engine = create_engine(normalise_url(url or PG_URL), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


@contextmanager
def pg_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database, dropped afterwards."""
    assert PG_URL is not None
    name = f"recnet_conc_{uuid.uuid4().hex[:12]}"
    admin_execute(f'CREATE DATABASE "{name}"')
    url = make_url(normalise_url(PG_URL)).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database_for(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'served.db'}"
        upgrade(url)
        yield url
    else:
        with pg_database() as url:
            yield url


class Server:
    def __init__(self, base: str, process: subprocess.Popen[str]) -> None:
        self.base = base
        self.process = process
        self.output: list[str] = []


@contextmanager
def server(url: str, *args: str, **env: str) -> Iterator[Server]:
    """`python -m recnet serve` like tests.served.served, exposing the process (for its pid)."""
    port = _free_port()
    environment = {
        **os.environ,
        "RECNET_DATABASE_URL": url,
        "RECNET_ENV": "dev",
        "RECNET_RATE_ANONYMOUS": "100000",
        "RECNET_RATE_CLIENT": "100000",
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "recnet", "serve", "--port", str(port), *args],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    running = Server(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{running.base}/v1/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "recnet serve exited early"
            assert time.monotonic() < deadline, "recnet serve did not come up in 30 s"
            time.sleep(0.2)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            out, _ = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, _ = process.communicate(timeout=15)
        running.output.extend((out or "").splitlines())


def agency_headers(base: str, url: str, organisation: str = "UZB") -> dict[str, str]:
    client = cli_client(url, organisation, "practices:write,statistics:write")
    return {"Authorization": f"Bearer {access_token(base, client)}"}


def scalar(url: str, query: str) -> int:
    """One count read as the database owner (no row-level security)."""
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(query)).scalar_one())
    finally:
        engine.dispose()


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as connection:
            return [tuple(r) for r in connection.execute(text(query)).all()]
    finally:
        engine.dispose()


def observation_csv(count: int, value: object = None) -> bytes:
    """``count`` distinct UZB observations; every OBS_VALUE is ``value`` (or index % 97)."""
    combos = itertools.product(
        ["RETURNED", "IN_REHABILITATION", "DOCUMENTS_ISSUED", "ENROLLED_EDUCATION"],
        ["F", "M"],
        ["Y0T4", "Y5T11", "Y12T17", "Y18T59", "Y_GE60"],
        ["SYR", "IRQ", "AFG", "TUR", "_O"],
        [f"{year}-{month:02d}" for year in range(1900, 2025) for month in range(1, 13)],
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for index, (indicator, sex, age, country, period) in enumerate(itertools.islice(combos, count)):
        writer.writerow(
            ["UZB", indicator, sex, age, country, period, index % 97 if value is None else value]
        )
    return buffer.getvalue().encode()


def practice_body(**overrides: object) -> dict[str, object]:
    from tests.factories import practice_body as body

    return body(**overrides)


def workers_for(backend: str) -> list[str]:
    return ["--workers", "2"] if backend == "postgresql" else []


# ------------------------------------------------------------------ idempotency


@pytest.mark.parametrize("backend", BACKENDS)
def test_twenty_simultaneous_posts_with_one_key_make_one_record(
    backend: str, tmp_path: Path
) -> None:
    with database_for(backend, tmp_path) as url, server(url, *workers_for(backend)) as running:
        headers = {**agency_headers(running.base, url), "Idempotency-Key": "burst-20"}

        async def burst() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=running.base, timeout=60) as http:
                return await asyncio.gather(
                    *(http.post("/v1/practices", json=practice_body(), headers=headers)
                      for _ in range(20))
                )  # fmt: skip

        answers = asyncio.run(burst())
        statuses = sorted(a.status_code for a in answers)
        assert set(statuses) <= {201, 409}, [(a.status_code, a.text[:300]) for a in answers]
        assert statuses.count(201) >= 1
        assert len({a.json()["id"] for a in answers if a.status_code == 201}) == 1
        for refused in (a for a in answers if a.status_code == 409):
            assert refused.headers["content-type"].startswith("application/problem+json")
        assert scalar(url, "SELECT count(*) FROM records") == 1
        # A later retry replays the one answer.
        again = httpx.post(
            f"{running.base}/v1/practices", json=practice_body(), headers=headers, timeout=30
        )
        assert again.status_code == 201
        assert again.headers.get("idempotent-replayed") == "true"
        assert scalar(url, "SELECT count(*) FROM records") == 1


# ------------------------------------------------------------------ optimistic concurrency


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_patches_with_one_if_match_give_one_200_and_one_412(
    backend: str, tmp_path: Path
) -> None:
    with database_for(backend, tmp_path) as url, server(url, *workers_for(backend)) as running:
        headers = agency_headers(running.base, url)
        for round_ in range(5):
            created = httpx.post(
                f"{running.base}/v1/practices", json=practice_body(), headers=headers, timeout=30
            )
            assert created.status_code == 201, created.text
            record = f"/v1/practices/{created.json()['id']}"
            etag = created.headers["etag"]

            async def race(record: str = record, etag: str = etag) -> list[httpx.Response]:
                async with httpx.AsyncClient(base_url=running.base, timeout=60) as http:
                    return await asyncio.gather(
                        *(http.patch(record, json={"tlp": tlp},
                                     headers={**headers, "If-Match": etag})
                          for tlp in ("GREEN", "AMBER"))
                    )  # fmt: skip

            answers = asyncio.run(race())
            statuses = sorted(a.status_code for a in answers)
            assert statuses == [200, 412], (round_, [(a.status_code, a.text) for a in answers])
            winner = next(a for a in answers if a.status_code == 200).json()
            loser = next(a for a in answers if a.status_code == 412)
            assert loser.headers["content-type"].startswith("application/problem+json")
            assert winner["version"] == 2
            now = httpx.get(f"{running.base}{record}", headers=headers, timeout=30).json()
            assert now["version"] == 2
            assert now["tlp"] == winner["tlp"]


# ------------------------------------------------------------------ overlapping imports


def stored_values(url: str) -> set[object]:
    return {r[0] for r in rows(url, "SELECT obs_value FROM observations")}


def published_values(
    base: str, headers: dict[str, str], size: int
) -> dict[tuple[object, ...], object]:
    seen: dict[tuple[object, ...], object] = {}
    page = httpx.get(f"{base}{STATS}", params={"limit": 10_000}, headers=headers, timeout=60)
    assert page.status_code == 200, page.text[:500]
    items = page.json()["items"]
    for item in items:
        key = tuple(item[d] for d in HEADER[:-1])
        seen[key] = item["OBS_VALUE"]
    return seen


def overlapping_imports(
    base: str, headers: dict[str, str], values: tuple[int, int], size: int
) -> list[httpx.Response]:
    bodies = [observation_csv(size, value) for value in values]

    async def overlap() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            return await asyncio.gather(
                *(http.post(STATS, content=body, headers=headers) for body in bodies)
            )

    return asyncio.run(overlap())


def assert_one_import_won(
    url: str,
    base: str,
    headers: dict[str, str],
    answers: list[httpx.Response],
    values: tuple[int, int],
    size: int,
) -> None:
    for answer in answers:  # both apply (serialised), or one is refused with a problem, never 500
        assert answer.status_code in (200, 409, 503), (answer.status_code, answer.text[:300])
        if answer.status_code != 200:
            assert answer.headers["content-type"].startswith("application/problem+json")
    assert 200 in [a.status_code for a in answers]
    assert scalar(url, "SELECT count(*) FROM observations") == size
    stored = stored_values(url)
    assert len(stored) == 1, f"observations mix the two imports: {stored}"
    assert stored <= set(values), stored
    cube = published_values(base, {"Authorization": headers["Authorization"]}, size)
    assert len(cube) >= size
    assert set(cube.values()) == stored, (
        f"published cube {set(cube.values())} differs from observations {stored}"
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_overlapping_first_imports_of_the_same_keys_never_mix(backend: str, tmp_path: Path) -> None:
    """Neither import finds the keys: both plan inserts."""
    size = 5_000
    with database_for(backend, tmp_path) as url, server(url, *workers_for(backend)) as running:
        headers = {**agency_headers(running.base, url), "Content-Type": "text/csv"}
        answers = overlapping_imports(running.base, headers, (11, 22), size)
        assert_one_import_won(url, running.base, headers, answers, (11, 22), size)


@pytest.mark.parametrize("backend", BACKENDS)
def test_overlapping_updates_of_the_same_keys_never_mix(backend: str, tmp_path: Path) -> None:
    """Both imports find the keys (seeded first): both plan updates."""
    size = 5_000
    with database_for(backend, tmp_path) as url, server(url, *workers_for(backend)) as running:
        headers = {**agency_headers(running.base, url), "Content-Type": "text/csv"}
        seeded = httpx.post(
            f"{running.base}{STATS}", content=observation_csv(size, 7), headers=headers, timeout=120
        )
        assert seeded.status_code == 200, seeded.text[:500]
        for values in ((11, 22), (33, 44), (55, 66)):
            answers = overlapping_imports(running.base, headers, values, size)
            assert_one_import_won(url, running.base, headers, answers, values, size)
