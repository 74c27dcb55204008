"""Aggregates answered from the read cache: reused only while the event log's head stands still,
never across visibility classes or formats, and shared between processes through Redis."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event

from recnet.api.readcache import ReadCache
from recnet.api.shared_answers import SharedAnswers
from recnet.app import create_app
from recnet.auth.principal import Role
from recnet.db import Database
from tests.factories import bearer, client_for_role, get_token

REDIS_URL = os.environ.get("RECNET_TEST_REDIS_URL")
URL = "/v1/statistics/aggregates"
QUERY = {"by": "REF_AREA,SEX,TIME_PERIOD"}


@contextmanager
def cube_reads(database: Database) -> Iterator[list[str]]:
    """Every statement that reads the published cube, as ``database``'s engine sends it."""
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM statistics_cube" in statement:
            seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", listen)


@pytest.fixture
def agency(client: TestClient, database: Database) -> dict[str, str]:
    return bearer(get_token(client, client_for_role(database, Role.member_state, "UZB")))


def report(client: TestClient, agency: dict[str, str], women: int, men: int = 30) -> None:
    rows = [
        {
            "REF_AREA": "UZB",
            "INDICATOR": "RETURNED",
            "SEX": sex,
            "AGE": "_T",
            "COUNTERPART_AREA": "_T",
            "TIME_PERIOD": "2020",
            "OBS_VALUE": value,
        }
        for sex, value in (("F", women), ("M", men), ("_T", women + men))
    ]
    answer = client.post("/v1/statistics/observations", json={"observations": rows}, headers=agency)
    assert answer.status_code == 200, answer.text


def women(answer: Any) -> int | None:
    assert answer.status_code == 200, answer.text
    (item,) = [i for i in answer.json()["items"] if i["SEX"] == "F"]
    value: int | None = item["OBS_VALUE"]
    return value


def test_a_repeated_aggregate_does_not_read_the_cube_again(
    client: TestClient, database: Database, agency: dict[str, str]
) -> None:
    report(client, agency, women=20)
    with cube_reads(database) as reads:
        first = client.get(URL, params=QUERY)
        assert women(first) == 20
        computed = len(reads)
        assert computed >= 1
        again = client.get(URL, params=QUERY)
        assert again.content == first.content
        assert again.headers["etag"] == first.headers["etag"]
        assert len(reads) == computed
        assert "ratelimit-remaining" in again.headers  # counted all the same
        assert client.get(URL, params=QUERY, headers={"If-None-Match": first.headers["etag"]})\
            .status_code == 304  # fmt: skip
        assert len(reads) == computed


def test_every_change_is_seen_at_once(
    client: TestClient, database: Database, agency: dict[str, str]
) -> None:
    report(client, agency, women=20)
    assert women(client.get(URL, params=QUERY)) == 20
    report(client, agency, women=21)
    assert women(client.get(URL, params=QUERY)) == 21


def test_the_format_asked_by_accept_is_its_own_answer(
    client: TestClient, agency: dict[str, str]
) -> None:
    """The same URL answers JSON or CSV by the Accept header: a kept JSON answer is never given
    to a client that asked for CSV, nor the other way round."""
    report(client, agency, women=20)
    as_json = client.get(URL, params=QUERY)
    as_csv = client.get(URL, params=QUERY, headers={"Accept": "text/csv"})
    assert as_json.headers["content-type"] == "application/json"
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.text.splitlines()[0].startswith("REF_AREA,")
    assert "accept" in as_csv.headers["vary"].lower()
    again = client.get(URL, params=QUERY)
    assert again.headers["content-type"] == "application/json"
    assert again.content == as_json.content


def test_an_answer_never_crosses_visibility_classes(
    client: TestClient, agency: dict[str, str]
) -> None:
    """A small count: the reporting state reads it; the public, before and after, does not."""
    report(client, agency, women=2)
    assert women(client.get(URL, params=QUERY)) is None
    assert women(client.get(URL, params=QUERY, headers=agency)) == 2
    assert women(client.get(URL, params=QUERY)) is None
    assert women(client.get(URL, params=QUERY, headers=agency)) == 2


def shared_app(database: Database, shared: SharedAnswers) -> FastAPI:
    """Another recnet process on the same database, with its own engine and cache."""
    app = create_app(database.settings, Database.from_settings(database.settings))
    app.state.read_cache = ReadCache(app.state.database, 64 * 1024 * 1024, shared)
    return app


@pytest.mark.skipif(REDIS_URL is None, reason="RECNET_TEST_REDIS_URL not set")
def test_processes_share_answers_through_redis(
    client: TestClient, database: Database, agency: dict[str, str]
) -> None:
    """What one process computed, another takes from Redis instead of reading the cube; after a
    write, neither is given the old answer; an agency's answer is not the public's."""
    assert REDIS_URL is not None
    # A namespace of this test's own: the test databases are emptied and reused between tests.
    shared = SharedAnswers(REDIS_URL, f"test-{uuid.uuid4()}", ttl=60)
    report(client, agency, women=2)
    one, two = shared_app(database, shared), shared_app(database, shared)
    with TestClient(one) as first, TestClient(two) as second:
        public = first.get(URL, params=QUERY)
        assert women(public) is None
        with cube_reads(two.state.database) as reads:
            taken = second.get(URL, params=QUERY)
            assert taken.content == public.content
            assert reads == []
            # The agency's own figures are another key: computed, not the public's answer.
            assert women(second.get(URL, params=QUERY, headers=agency)) == 2
            assert len(reads) >= 1
        report(client, agency, women=3)
        assert women(second.get(URL, params=QUERY, headers=agency)) == 3
        assert women(first.get(URL, params=QUERY, headers=agency)) == 3


def test_without_redis_each_process_computes(
    client: TestClient, database: Database, agency: dict[str, str]
) -> None:
    """Redis down (nothing listens on port 1): answers are computed, as without it, and Redis
    is left alone for a while rather than asked again on every request."""
    report(client, agency, women=20)
    shared = SharedAnswers("redis://127.0.0.1:1/0", "down", ttl=60)
    app = shared_app(database, shared)
    with TestClient(app) as down:
        assert shared.available
        assert women(down.get(URL, params=QUERY)) == 20
        assert not shared.available
        report(client, agency, women=22)
        assert women(down.get(URL, params=QUERY)) == 22


def test_databases_never_share_answers() -> None:
    one = SharedAnswers("redis://127.0.0.1:1/0", "postgresql://recnet@db/production", ttl=60)
    two = SharedAnswers("redis://127.0.0.1:1/0", "postgresql://recnet@db/staging", ttl=60)
    key = (("/v1/statistics/aggregates", "", (), None), ("anonymous", None))
    assert one.name(key, 7) != two.name(key, 7)
    assert one.name(key, 7) != one.name(key, 8)
