"""The record lists' direct path (api/direct.py, api/v1/record_lists.py) and the per-shape list
statements (repositories/records.py), attacked as a hostile or picky client would: requests
whose answers might differ between the direct path and the route, readers who might see what
they may not, statements that might serve one reader's visibility to another, and error paths.

The last tests hold the mends of what this attack found (all older than the direct path): a
naive or out-of-range ``updated_since`` or cursor moment, and query bytes that are not UTF-8,
were 500s on both paths.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from starlette.types import ASGIApp

from recnet.api.v1.record_lists import parse_list_query
from recnet.app import create_app
from recnet.auth.principal import Role
from recnet.auth.visibility import SHARED_MARKINGS
from recnet.db import Database
from recnet.repositories import records as repository
from recnet.schemas.paging import encode_cursor
from recnet.services import record_reads
from recnet.services.practices import PRACTICES
from recnet.services.programmes import PROGRAMMES
from tests.api.records.test_direct_path import ONE_ID, _callers, _network, _same
from tests.conftest import owner_database
from tests.factories import bearer, client_for_role, get_token, make_record

# Every test: the rate limiter's clock held still (conftest.py).
pytestmark = pytest.mark.usefixtures("still_clock")

NIL = "00000000-0000-0000-0000-000000000000"


def _cursor(v: str, record_id: str = NIL) -> str:
    return str(encode_cursor({"v": v, "id": record_id}))


# Queries at the edges of what both paths read: percent-encoding, `+`, `;`, unicode, NUL,
# empty names, datetimes pydantic reads in unusual forms, limits, cursors, search text.
EDGE = [
    "&",
    "&&lang=en",
    "lang=%65n",
    "tenant=%55ZB",
    "%6Cang=ru",
    "lang=en&%6Cang=ru",
    "lang=en;lang=ru",
    "lang=en;tenant=UZB",
    "=1",
    "=",
    "%00=1",
    "lang=en%00",
    "tenant=UZB%00",
    "limit=%EF%BC%95",
    "limit=100",
    "limit=101",
    "limit=9999",
    "sort=%2Bupdated_at",
    "sort=%20updated_at",
    "approach=MEDICAL",
    "approach=medical%20",
    "component=medical&approach=medical",
    "component=medical&working_group=civil_society&target_group=boys&evidence_level=monitoring"
    "&activity_status=implementation&lang=en&approach=education",
    "tenant=XXX",
    "tenant=UZB&status=draft",
    "tenant=KAZ&status=draft",
    "status=draft&tlp=AMBER",
    "tlp=AMBER",
    "tlp=GREEN&status=published",
    "tlp=RED",
    "tlp=AMBER%2BSTRICT",
    "tlp=AMBER+STRICT",
    "status=withdrawn",
    "updated_since=-1",
    "updated_since=1.5",
    "updated_since=1e10",
    "updated_since=20000101",
    "updated_since=2000-01-01t00:00:00z",
    "updated_since=2000-01-01T00:00Z",
    "updated_since=2000-01-01T00Z",
    "updated_since=2000-01-01T00:00:00%2B23:59",
    "updated_since=2000-01-01T00:00:00%2B24:00",
    "updated_since=2000-01-01T00:00:00-00:00",
    "updated_since=2000-01-01T00:00:00.000000001Z",
    "updated_since=2000-01-01T24:00:00Z",
    "updated_since=%202000-01-01",
    "updated_since=253402300800000",
    "updated_since=%EF%BC%92000-01-01",
    "q=%00",
    "q=a%00b",
    "q=classes%00",
    "q=%F0%9F%98%80",
    "q=" + "%F0%9F%98%80" * 200,
    "q=" + "%F0%9F%98%80" * 201,
    "q=" + quote("é") * 200,
    "q=+",
    "q=%20",
    "q=" + "a+" * 100,
    "q=" + "+".join(f"w{i}" for i in range(40)),
    "q=%ED%A0%80",
    "q=%FF",
    "q=%C3",
    "q=classes&sort=created_at",
    "q=classes&sort=-updated_at&limit=1",
    "q=%21%21",
    "q=%21%21&sort=relevance",
    "q=%22%2A",
    "q=NEAR%28a%20b%29",
    "q=a%27%3B--",
    "q=classes&tenant=UZB&status=draft",
    "cursor=%00",
    "cursor=e30",
    "cursor=" + encode_cursor({"offset": True}),
    "cursor=" + encode_cursor({"offset": -1}),
    "cursor=" + encode_cursor({"offset": 2**31}),
    "cursor=" + encode_cursor({"offset": 1.5}),
    "q=classes&cursor=" + encode_cursor({"offset": 1}),
    "cursor=" + _cursor("9999-12-31T23:59:59+00:00"),
    "cursor=" + encode_cursor({"v": None, "id": None}),
    "cursor=WzFd",
    "updated_since=null",
    "updated_since=None",
    "tenant=null",
    "&" * 5000,
    "lang=en" + "&" * 5000 + "limit=2",
    "limit=1" + "&lang%00=x" * 200,
]


@pytest.mark.parametrize("plural", ["practices", "programmes"])
def test_edge_queries_are_answered_alike_on_both_paths(
    apps: tuple[TestClient, TestClient], client: TestClient, database: Database, plural: str
) -> None:
    direct, routed = apps
    _network(database)
    callers = _callers(client, database)
    differing = []
    for query in EDGE:
        for name, headers in callers.items():
            try:
                _same(direct, routed, "GET", f"/v1/{plural}?{query}", headers)
            except AssertionError as exc:
                differing.append(f"{query} as {name}: {str(exc)[:300]}")
    assert not differing, "\n".join(differing)


def test_request_headers_are_answered_alike_on_both_paths(database: Database) -> None:
    """CORS (allowed origin, other origin, with a token), conditional requests by date and tag,
    Accept and Accept-Language forms, a caller's own request id."""
    settings = database.settings.model_copy(
        update={"rate_anonymous": 1000, "cors_origins": ["https://reader.example"]}
    )
    _network(database)
    direct = create_app(settings, database)
    routed = create_app(settings.model_copy(update={"direct_reads": False}), database)
    with (
        TestClient(direct, raise_server_exceptions=False) as one,
        TestClient(routed, raise_server_exceptions=False) as other,
    ):
        url = "/v1/practices?limit=2"
        _, _, first = _same(one, other, "GET", url, {})
        for headers in (
            {"Origin": "https://reader.example"},
            {"Origin": "https://READER.example"},
            {"Origin": "https://elsewhere.example"},
            {"Origin": "https://reader.example", "Authorization": "Bearer nope"},
            {"If-None-Match": first["etag"]},
            {"If-None-Match": "W/" + first["etag"]},
            {"If-None-Match": "*"},
            {"If-None-Match": '"nope", ' + first["etag"]},
            {"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"},
            {"If-Modified-Since": "not a date"},
            {"Accept": "application/problem+json"},
            {"Accept": "application/json;q=0"},
            {"Accept": "*/*;q=0.1, text/html"},
            {"Accept": "application/*"},
            {"Accept-Language": "RU"},
            {"Accept-Language": "ru-RU;q=0.9, uz;q=1"},
            {"Accept-Language": "*"},
            {"Accept-Language": "x" * 600},
            {"X-Request-Id": "mine-0123"},
        ):
            _same(one, other, "GET", url, headers)
            _same(one, other, "HEAD", url, headers)


def test_authorization_forms_are_answered_alike_on_both_paths(
    apps: tuple[TestClient, TestClient], client: TestClient, database: Database
) -> None:
    """Tokens in unusual spellings, tampered, or of a client disabled since: the same answer
    (a page or the same 401) on both paths, never a page as anonymous for a refused token."""
    direct, routed = apps
    _network(database)
    token = get_token(client, client_for_role(database, Role.member_state, "KAZ"))
    forms = [
        f"bearer {token}",
        f"BEARER {token}",
        f"Bearer  {token}",
        f"Bearer {token} ",
        f"Bearer\t{token}",
        f"Bearer {token} extra",
        f"Bearer {token[:-2]}",
        f"Bearer {token}x",
        "Bearer",
        "Bearer ",
        "",
        "Token abc",
    ]
    for form in forms:
        for query in ("limit=3", "limit=3&status=draft&tenant=KAZ"):
            status, body, _ = _same(
                direct, routed, "GET", f"/v1/practices?{query}", {"Authorization": form}
            )
            assert status in (200, 401), (form, status)
            if status == 200 and "status=draft" in query:
                assert json.loads(body)["items"], form  # KAZ's own drafts: a real reader
    # A client disabled after its token was issued: refused alike, at once.
    with owner_database(str(database.settings.database_url)).engine.begin() as connection:
        connection.execute(text("UPDATE api_clients SET disabled_at = CURRENT_TIMESTAMP"))
    status, _, headers = _same(
        direct, routed, "GET", "/v1/practices?limit=3", {"Authorization": f"Bearer {token}"}
    )
    assert status == 401
    assert "www-authenticate" in headers


# ------------------------------------------------------------------- who sees what


TENANTS = ("UZB", "KAZ", "TJK")
MARKINGS = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")


def _everything(database: Database) -> list[dict[str, str]]:
    """Records of both kinds, every tenant, marking and status, all matching ``q=common``."""
    made = []
    for kind, title in ((PRACTICES, "practice"), (PROGRAMMES, "programme")):
        for tenant in TENANTS:
            for tlp in MARKINGS:
                for status in ("published", "draft"):
                    record = make_record(
                        database,
                        kind,
                        tenant,
                        status=status,
                        tlp=tlp,
                        title={"en": f"common {title} {tenant} {tlp} {status}"},
                    )
                    made.append(
                        {
                            "kind": kind.plural,
                            "id": str(record.id),
                            "tenant": tenant,
                            "tlp": record.tlp,
                            "status": record.status,
                        }
                    )
    return made


def _may_read(role: Role, tenant: str | None, record: dict[str, str]) -> bool:
    if tenant is not None and tenant == record["tenant"]:
        return True
    return record["status"] != "draft" and record["tlp"] in SHARED_MARKINGS[role]


def _all_pages(http: TestClient, url: str, headers: dict[str, str]) -> list[str]:
    """The ids of every page of a list, following its next links."""
    ids: list[str] = []
    for _ in range(200):
        page = http.get(url, headers=headers)
        assert page.status_code == 200, (url, page.text)
        ids += [item["id"] for item in page.json()["items"]]
        link = page.headers.get("link")
        if not link:
            return ids
        url = link[1 : link.index(">")]
    raise AssertionError("more than 200 pages")


READERS: dict[str, tuple[Role, str | None]] = {
    "anonymous": (Role.anonymous, None),
    "researcher": (Role.researcher, None),
    "partner": (Role.partner, None),
    "secretariat": (Role.secretariat, None),
    "UZB": (Role.member_state, "UZB"),
    "KAZ": (Role.member_state, "KAZ"),
}


def _tokens(client: TestClient, database: Database) -> dict[str, dict[str, str]]:
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for name, (role, tenant) in READERS.items():
        if role is not Role.anonymous:
            credentials = client_for_role(database, role, tenant)
            headers[name] = bearer(get_token(client, credentials))
    return headers


def test_every_reader_sees_exactly_what_it_may_through_every_statement(
    client: TestClient, database: Database
) -> None:
    """Every reader, interleaved (each statement kept and reused across them), through keyset
    pages, search pages and every sort, with filters that could widen a statement: each page
    holds exactly the records the sharing rule lets that reader see."""
    made = _everything(database)
    headers = _tokens(client, database)
    queries = [
        "limit=3",
        "limit=2&sort=created_at",
        "limit=4&sort=-created_at",
        "limit=5&sort=updated_at",
        "limit=2&q=common",
        "limit=3&q=common&sort=relevance",
        "limit=2&q=common&sort=created_at",
        "limit=3&status=draft",
        "limit=3&tlp=RED",
        "limit=3&tlp=AMBER%2BSTRICT&status=draft",
        "limit=2&tenant=KAZ",
        "limit=2&tenant=UZB&status=draft&q=common",
        "limit=2&lang=en",
        "limit=2&updated_since=2000-01-01T00:00:00Z",
    ]
    for query in queries:
        # Twice each, readers in another order the second time: statements and answers kept.
        order = list(READERS) + list(reversed(READERS))
        for name in order:
            role, tenant = READERS[name]
            for plural in ("practices", "programmes"):
                seen = _all_pages(client, f"/v1/{plural}?{query}", headers[name])
                assert len(seen) == len(set(seen)), (query, name)
                expected = {
                    r["id"]
                    for r in made
                    if r["kind"] == plural and _may_read(role, tenant, r) and _keeps(query, r)
                }
                assert set(seen) == expected, (query, name, plural)


def _keeps(query: str, record: dict[str, str]) -> bool:
    """Whether the filters of ``query`` (as used above) keep ``record``."""
    for part in query.split("&"):
        name, _, value = part.partition("=")
        value = value.replace("%2B", "+")
        if name in ("tenant", "status", "tlp") and record[name] != value:
            return False
    return True


def test_a_cursor_from_one_reader_shows_another_nothing_more(
    client: TestClient, database: Database
) -> None:
    """A cursor is a position, not a permission: handed from an agency to an anonymous reader
    (or forged), it still pages only through what the holder may see."""
    made = _everything(database)
    headers = _tokens(client, database)
    page = client.get("/v1/practices?limit=1&status=draft", headers=headers["UZB"])
    cursor = page.json()["next_cursor"]
    assert cursor
    forged = [cursor, _cursor("9999-01-01T00:00:00+00:00", "ffffffff-ffff-ffff-ffff-ffffffffffff")]
    forged.append(encode_cursor({"offset": 0}))
    for given in forged:
        for name in ("anonymous", "researcher", "KAZ"):
            role, tenant = READERS[name]
            for extra in ("", "&q=common", "&status=draft"):
                response = client.get(
                    f"/v1/practices?limit=100&cursor={given}{extra}", headers=headers[name]
                )
                if response.status_code == 422:  # a keyset cursor on a search, or the reverse
                    continue
                assert response.status_code == 200, response.text
                for item in response.json()["items"]:
                    (record,) = (r for r in made if r["id"] == item["id"])
                    assert _may_read(role, tenant, record), (name, given, extra, record)


def test_filter_values_never_replace_the_readers_own(
    client: TestClient, database: Database
) -> None:
    """The statement's own values (the reader's tenant, the markings shared with its role) and
    the request's (bound by name) cannot be confused: an anonymous reader asking for a tenant's
    drafts, or for amber records, of exactly the values the agency's statement binds, gets none."""
    made = _everything(database)
    headers = _tokens(client, database)
    for query in (
        "tenant=UZB&status=draft",
        "tlp=AMBER",
        "tlp=RED&tenant=UZB",
        "status=draft&q=common",
        "tlp=GREEN&q=common&sort=created_at",
    ):
        # The agency's statement first, so the anonymous one is built after and beside it.
        client.get(f"/v1/practices?{query}", headers=headers["UZB"])
        for name in ("anonymous", "researcher", "partner"):
            role, tenant = READERS[name]
            items = client.get(f"/v1/practices?{query}", headers=headers[name]).json()["items"]
            for item in items:
                (record,) = (r for r in made if r["id"] == item["id"])
                assert _may_read(role, tenant, record), (query, name, record)


def test_the_kept_statements_are_bounded(client: TestClient, database: Database) -> None:
    """The statements kept per shape are bounded, and a page size the caller chooses (1 to
    10 000) adds at most one statement per size actually used (at most 100 rows are read)."""
    assert repository._visible.cache_info().maxsize == 1024
    assert repository._keyset.cache_info().maxsize == 1024
    make_record(database, PRACTICES, status="published")
    repository._keyset.cache_clear()
    sizes = random.Random(7).sample(range(101, 10_001), 40)
    for size in sizes:
        assert client.get(f"/v1/practices?limit={size}").status_code == 200
    assert repository._keyset.cache_info().currsize == 1  # all read as 100 (+1)


# ------------------------------------------------------------------- errors


@pytest.fixture
def failing(monkeypatch: pytest.MonkeyPatch) -> dict[str, BaseException]:
    """The list's page computation raises what the test puts under ``"error"``."""
    raised: dict[str, BaseException] = {}

    def broken(*_args: object, **_kwargs: object) -> Any:
        raise raised["error"]

    monkeypatch.setattr(record_reads, "list_page", broken)
    return raised


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (sa_exc.OperationalError("SELECT 1", {}, Exception("connection refused")), 503),
        (sa_exc.TimeoutError("QueuePool limit reached"), 503),
        (sa_exc.ProgrammingError("SELECT 1", {}, Exception("syntax")), 500),
        (LookupError("no handler for this"), 500),
    ],
)
def test_errors_are_answered_alike_on_both_paths(
    apps: tuple[TestClient, TestClient],
    database: Database,
    failing: dict[str, BaseException],
    error: BaseException,
    status: int,
) -> None:
    direct, routed = apps
    failing["error"] = error
    for query in ("limit=3", "q=x&limit=4"):
        got, body, headers = _same(direct, routed, "GET", f"/v1/practices?{query}", {})
        assert got == status
        assert headers["content-type"] == "application/problem+json"
        assert headers["x-request-id"] == ONE_ID["X-Request-Id"]
        assert b"connection refused" not in body
        assert b"syntax" not in body
        if status == 503:
            assert headers["retry-after"] == str(database.settings.retry_after_seconds)


def test_a_database_down_while_resolving_a_token_is_a_503_alike(
    apps: tuple[TestClient, TestClient],
    client: TestClient,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    direct, routed = apps
    token = bearer(get_token(client, client_for_role(database, Role.partner)))

    def down(*_args: object, **_kwargs: object) -> Any:
        raise sa_exc.OperationalError("SELECT", {}, Exception("down"))

    monkeypatch.setattr("recnet.auth.principal.resolve", down)
    monkeypatch.setattr("recnet.api.deps.resolve", down)
    status, _, headers = _same(direct, routed, "GET", "/v1/practices?limit=2", token)
    assert status == 503
    assert "retry-after" in headers


# ------------------------------------------------ faults found here (older than the direct path)


def _status(http: TestClient, query: str) -> tuple[int, str]:
    response = http.get(f"/v1/practices?{query}", headers=ONE_ID)
    return response.status_code, response.text[:200]


@pytest.mark.parametrize(
    "query",
    [
        "updated_since=2000-01-01",
        "updated_since=2000-01-01T00:00:00",
        "updated_since=2000-01-01+00:00",
        "updated_since=2000-01-01T00:00:00.123456",
        "updated_since=9999-12-31T23:59:59-14:00",
        "updated_since=0001-01-01T00:00:00%2B01:00",
    ],
)
def test_an_updated_since_pydantic_reads_is_never_a_500(
    apps: tuple[TestClient, TestClient], database: Database, query: str
) -> None:
    direct, routed = apps
    make_record(database, PRACTICES, status="published")
    assert parse_list_query(query.encode()) is not None  # taken by the direct path
    _same(direct, routed, "GET", f"/v1/practices?{query}", {})
    assert _status(direct, query)[0] in (200, 422)


@pytest.mark.parametrize(
    "position",
    ["2000-01-01", "2000-01-01T00:00:00", "0001-01-01T00:00:00+23:59"],
)
def test_a_forged_cursor_is_refused_never_a_500(
    client: TestClient, database: Database, position: str
) -> None:
    make_record(database, PRACTICES, status="published")
    status, text = _status(client, f"cursor={_cursor(position)}")
    assert status == 422, text


def _raw_get(app: ASGIApp, query: bytes) -> int:
    return _raw_answer(app, query)[0]


def _raw_answer(app: ASGIApp, query: bytes) -> tuple[int, dict[str, str]]:
    """The status of a GET of /v1/practices with this query string as raw bytes (as an HTTP
    server hands over a request line's bytes above 0x7F, which no client library sends)."""
    started: list[MutableMapping[str, Any]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/v1/practices",
        "raw_path": b"/v1/practices",
        "root_path": "",
        "query_string": query,
        "headers": [(b"host", b"testserver")],
        "client": ("203.0.113.9", 1234),
        "server": ("testserver", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            started.append(message)

    async def call() -> None:
        await app(scope, receive, send)

    asyncio.run(call())
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in started[0]["headers"]}
    return started[0]["status"], headers


def test_raw_bytes_are_answered_alike_on_both_paths(
    apps: tuple[TestClient, TestClient], database: Database
) -> None:
    direct, routed = (t.app for t in apps)
    for query in (b"q=\xe9", b"cursor=\xe9", b"tenant=\xe9", b"lang=\xe9", b"\xe9=1"):
        assert _raw_get(direct, query) == _raw_get(routed, query), query


@pytest.mark.parametrize("query", [b"q=\xe9", b"cursor=\xe9", b"tenant=\xe9"])
def test_a_query_of_bytes_that_are_not_utf8_is_never_a_500(
    app: FastAPI, database: Database, query: bytes
) -> None:
    assert _raw_get(app, query) in (200, 400, 422)


def test_a_failed_raw_request_is_counted_alike_on_both_paths(
    apps: tuple[TestClient, TestClient], database: Database
) -> None:
    remaining = []
    for app in (t.app for t in apps):
        _raw_answer(app, b"q=\xe9")
        status, headers = _raw_answer(app, b"limit=1")
        assert status == 200
        remaining.append(headers["ratelimit-remaining"])
    assert remaining[0] == remaining[1]
