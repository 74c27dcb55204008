"""Lists answered from the read cache: equal to the models' own answer, reused only while the
event log's head stands still, never across visibility classes, bounded in memory."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from recnet.api import readcache
from recnet.api.readcache import Answer, HeadWatch, ReadCache
from recnet.app import create_app
from recnet.auth.principal import Role
from recnet.db import Database
from recnet.schemas.common import Page
from recnet.services import records
from recnet.services.practices import PRACTICES
from recnet.services.programmes import PROGRAMMES
from recnet.services.records import Kind
from tests.conftest import make_settings
from tests.factories import bearer, client_for_role, get_token, make_record, practice_body


@pytest.fixture
def record_queries(database: Database) -> Iterator[list[str]]:
    """Every statement that reads the records table, as the app's engine sends it."""
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM records" in statement:
            seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", listen)
    yield seen
    event.remove(database.engine, "before_cursor_execute", listen)


@pytest.mark.parametrize("kind", [PRACTICES, PROGRAMMES], ids=lambda k: k.plural)
@pytest.mark.parametrize("accept_language", ["en", "ru", "uz, ru;q=0.5", ""])
def test_the_list_equals_the_read_models_answer(
    client: TestClient, database: Database, kind: Kind, accept_language: str
) -> None:
    """The page built straight from the stored documents is exactly what the pydantic read
    models make of the same records (the contract the fast path must keep)."""
    made = [
        make_record(database, kind, "UZB", status="published"),
        make_record(database, kind, "KAZ", status="published", title={"uz": "Faqat o'zbekcha"}),
        make_record(
            database,
            kind,
            "TJK",
            status="published",
            title={"ru": "Только по-русски", "tg": "Танҳо тоҷикӣ"},
            summary={"tg": "Хулоса"},
        ),
    ]
    response = client.get(f"/v1/{kind.plural}", headers={"Accept-Language": accept_language})
    assert response.status_code == 200, response.text
    preferred = {"en": ["en"], "ru": ["ru"], "uz, ru;q=0.5": ["uz", "ru"], "": []}[accept_language]
    expected = Page[kind.read](  # type: ignore[name-defined]
        items=[records.to_read(kind, r, preferred) for r in reversed(made)]
    ).model_dump(mode="json")
    assert response.json() == expected


def test_a_repeated_list_does_not_query_the_records_again(
    client: TestClient, database: Database, record_queries: list[str]
) -> None:
    make_record(database, PRACTICES, status="published")
    first = client.get("/v1/practices?limit=50")
    assert first.status_code == 200
    assert len(first.json()["items"]) == 1
    queried = len(record_queries)
    assert queried >= 1
    again = client.get("/v1/practices?limit=50")
    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    assert len(record_queries) == queried  # served from the cache
    assert "ratelimit-remaining" in again.headers  # counted like any request
    assert again.headers["vary"] == "Accept-Language"
    # Another question is not the same answer.
    assert client.get("/v1/practices?limit=49").status_code == 200
    assert len(record_queries) > queried


def test_a_cached_list_answers_304(client: TestClient, database: Database) -> None:
    make_record(database, PRACTICES, status="published")
    tag = client.get("/v1/practices").headers["etag"]
    assert client.get("/v1/practices", headers={"If-None-Match": tag}).status_code == 304


def test_every_change_is_seen_at_once(
    client: TestClient, database: Database, role_headers: dict[Role, dict[str, str]]
) -> None:
    agency = role_headers[Role.member_state]

    def titles() -> list[str]:
        response = client.get("/v1/practices", headers={"Accept-Language": "en"})
        assert response.status_code == 200
        return [item["title"] for item in response.json()["items"]]

    assert titles() == []
    created = client.post(
        "/v1/practices",
        json=practice_body(title={"en": "Family visits"}),
        headers=agency,
    )
    assert created.status_code == 201, created.text
    record = created.json()
    assert titles() == []  # a draft
    published = client.post(f"/v1/practices/{record['id']}/publish", headers=agency)
    assert published.status_code == 200, published.text
    assert titles() == ["Family visits"]
    patched = client.patch(
        f"/v1/practices/{record['id']}",
        json={"tlp": "RED"},
        headers={
            **agency,
            "If-Match": published.headers["etag"],
            "Content-Type": "application/merge-patch+json",
        },
    )
    assert patched.status_code == 200, patched.text
    assert titles() == []  # re-marked RED: gone from the public list at once


def test_a_change_made_by_another_process_is_seen(client: TestClient, database: Database) -> None:
    """Another recnet process (here: another app on the same database, with its own cache)
    writes; this one's next answer shows it."""
    assert client.get("/v1/practices").json()["items"] == []
    other = create_app(database.settings, Database.from_settings(database.settings))
    with TestClient(other) as other_client:
        assert other_client.get("/v1/practices").json()["items"] == []
        make_record(database, PRACTICES, status="published")
        assert len(other_client.get("/v1/practices").json()["items"]) == 1
    assert len(client.get("/v1/practices").json()["items"]) == 1


def test_an_answer_never_crosses_visibility_classes(client: TestClient, database: Database) -> None:
    make_record(database, PRACTICES, "UZB", status="draft", title={"en": "UZB draft"})
    make_record(database, PRACTICES, "UZB", status="published", tlp="AMBER", title={"en": "Amber"})
    make_record(database, PRACTICES, "KAZ", status="published", title={"en": "Clear"})
    uzb = bearer(get_token(client, client_for_role(database, Role.member_state, "UZB")))
    kaz = bearer(get_token(client, client_for_role(database, Role.member_state, "KAZ")))
    researcher = bearer(get_token(client, client_for_role(database, Role.researcher)))

    def titles(headers: dict[str, str]) -> set[str]:
        response = client.get("/v1/practices", headers={**headers, "Accept-Language": "en"})
        assert response.status_code == 200
        return {item["title"] for item in response.json()["items"]}

    # The widest view first, so a leak through the cache would show in every later answer.
    assert titles(uzb) == {"UZB draft", "Amber", "Clear"}
    assert titles(kaz) == {"Amber", "Clear"}
    assert titles(researcher) == {"Clear"}
    assert titles({}) == {"Clear"}
    assert titles(uzb) == {"UZB draft", "Amber", "Clear"}


def test_a_bad_token_is_refused_before_the_cache(client: TestClient, database: Database) -> None:
    make_record(database, PRACTICES, status="published")
    assert client.get("/v1/practices").status_code == 200
    refused = client.get("/v1/practices", headers={"Authorization": "Bearer not-a-token"})
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"


def test_a_kept_answer_is_given_before_the_parameters_are_parsed(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repeat without a token is answered by the route class from the cache, with the same
    body and headers as the route gives, and counted against the rate limit like any request.
    (The route as the lists' direct path leaves it: off here, so every request reaches it.)"""
    settings = database.settings.model_copy(update={"direct_reads": False})
    client = TestClient(create_app(settings, database), raise_server_exceptions=False)
    make_record(database, PRACTICES, status="published")
    early: list[bool] = []
    original = readcache._kept_for_anonymous

    async def spy(request: Any) -> Any:
        answered = await original(request)
        early.append(answered is not None)
        return answered

    monkeypatch.setattr(readcache, "_kept_for_anonymous", spy)
    url = "/v1/practices?limit=50&lang=ru"
    headers = {"Accept-Language": "uz, en;q=0.5"}
    first = client.get(url, headers=headers)
    again = client.get(url, headers=headers)
    assert early == [False, True]
    assert again.status_code == first.status_code == 200
    assert again.content == first.content
    for name in ("etag", "vary", "content-type"):
        assert again.headers[name] == first.headers[name]
    remaining = int(first.headers["ratelimit-remaining"])
    assert int(again.headers["ratelimit-remaining"]) == remaining - 1
    tag = first.headers["etag"]
    assert client.get(url, headers={**headers, "If-None-Match": tag}).status_code == 304
    # Other preferred languages are another answer: computed by the route.
    assert client.get(url, headers={"Accept-Language": "kk"}).status_code == 200
    assert early[-1] is False
    # A malformed token is refused, never given the anonymous answer.
    refused = client.get(url, headers={**headers, "Authorization": "Basic eA=="})
    assert refused.status_code == 401
    # Invalid parameters are never kept, so always refused by the route.
    for _ in range(2):
        assert client.get("/v1/practices?limit=0").status_code == 422


def test_a_kept_answer_still_counts_against_the_rate_limit(database: Database) -> None:
    settings = make_settings(database.settings.database_url, rate_anonymous=3)
    make_record(database, PRACTICES, status="published")
    with TestClient(create_app(settings, database)) as limited:
        answers = [limited.get("/v1/practices?limit=5") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].headers["content-type"] == "application/problem+json"
    assert "retry-after" in answers[3].headers


def test_the_cache_can_be_turned_off(database: Database) -> None:
    settings = make_settings(database.settings.database_url, read_cache_mb=0)
    with TestClient(create_app(settings, database)) as off:
        make_record(database, PRACTICES, status="published")
        assert len(off.get("/v1/practices").json()["items"]) == 1
        make_record(database, PRACTICES, status="published")
        assert len(off.get("/v1/practices").json()["items"]) == 2


def test_the_cache_is_bounded_and_emptied_by_a_new_head(database: Database) -> None:
    cache = ReadCache(database, max_bytes=3 * (1000 + 256))
    for n in range(5):
        assert cache.get(n, head=7) is None
        cache.put(n, 7, Answer(b"x" * 1000))
    assert [n for n in range(5) if cache.get(n, 7) is not None] == [2, 3, 4]
    assert cache.get(4, head=8) is None  # the log moved: nothing kept is reused
    assert all(cache.get(n, 8) is None for n in range(5))
    cache.put("late", 7, Answer(b"computed before the move"))
    assert cache.get("late", 8) is None  # an answer for an older head is not kept
    cache.put("huge", 8, Answer(b"x" * 10_000))
    assert cache.get("huge", 8) is None
    cache.put("small", 8, Answer(b"y"))
    cache.put("newer", 9, Answer(b"computed after a change the cache had not seen"))
    assert cache.get("newer", 9) is not None  # kept, under the newer head
    assert cache.get("small", 9) is None  # and what was kept for the older one is gone


def test_a_first_read_takes_its_head_in_its_own_transaction(
    client: TestClient, database: Database
) -> None:
    """An answer not kept yet is computed in one transaction that reads the head first (so the
    answer is at least as new as the head it is kept under); only a kept answer needs a head
    read of its own, and then no records query."""
    make_record(database, PRACTICES, status="published")
    seen: list[tuple[str, int]] = []

    def listen(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM events" in statement or "FROM records" in statement:
            kind = "head" if "FROM events" in statement else "records"
            seen.append((kind, id(conn.connection.dbapi_connection)))

    def ended(conn: Any) -> None:
        seen.append(("end", id(conn.connection.dbapi_connection)))

    event.listen(database.engine, "before_cursor_execute", listen)
    event.listen(database.engine, "commit", ended)
    event.listen(database.engine, "rollback", ended)
    try:
        assert client.get("/v1/practices?limit=7").status_code == 200
        first = list(seen)
        seen.clear()
        assert client.get("/v1/practices?limit=7").status_code == 200
        again = list(seen)
    finally:
        event.remove(database.engine, "before_cursor_execute", listen)
        event.remove(database.engine, "commit", ended)
        event.remove(database.engine, "rollback", ended)
    assert [kind for kind, _ in first] == ["head", "records", "end"]  # one transaction
    assert len({connection for _, connection in first}) == 1
    assert [kind for kind, _ in again] == ["head", "end"]  # the kept answer: no records query


class _GatedDatabase(Database):
    """The real database, whose head reads are held at a gate after reading (to order them)."""

    gate: threading.Event | None = None

    def event_head(self, session: Any = None) -> int:
        head = super().event_head(session)
        if self.gate is not None:
            self.gate.wait(10)  # answers only once let through, however long ago it read
        return head


def test_a_head_read_that_began_before_a_request_is_not_used_for_it(
    database: Database,
) -> None:
    """Request A's head read starts, a change commits, request B arrives: B must see the change
    (it waits for a read of its own), while A may answer with the older head."""
    gated = _GatedDatabase(database.settings, database.engine)
    watch = HeadWatch(gated)
    start = gated.event_head()

    async def scenario() -> tuple[int, int]:
        gated.gate = threading.Event()
        first = asyncio.ensure_future(watch.head())
        await asyncio.sleep(0.2)  # A has read the head and is held at the gate
        make_record(database, PRACTICES, status="published")
        second = asyncio.ensure_future(watch.head())
        await asyncio.sleep(0.05)
        gated.gate.set()
        return await first, await second

    head_a, head_b = asyncio.run(scenario())
    assert head_a == start
    assert head_b == start + 1  # not A's older read, though B arrived while it was in flight
