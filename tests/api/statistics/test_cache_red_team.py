"""Attacks on the read cache of the statistics routes (aggregates, observation pages): a small
count never reaches a reader outside the reporting state, whatever the order of requests, the
headers, the spelling of the query or the process; each request counts once against the rate
limit; errors are never kept; a caller's text is weighed against the cache's bound; a value in
Redis that is not one of ours is never answered."""

from __future__ import annotations

import csv
import io
import json
import os
import uuid
from collections.abc import Mapping
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jose import jwt

from recnet.api import shared_answers
from recnet.api.readcache import Answer, ReadCache, head_event, visibility_class
from recnet.api.shared_answers import SharedAnswers
from recnet.app import create_app
from recnet.auth import tokens
from recnet.auth.principal import ANONYMOUS, Role
from recnet.db import Database
from tests.api.statistics.test_aggregates_cache import report
from tests.conftest import make_settings, reset
from tests.factories import bearer, client_for_role, get_token

REDIS_URL = os.environ.get("RECNET_TEST_REDIS_URL")
AGGREGATES = "/v1/statistics/aggregates"
OBSERVATIONS = "/v1/statistics/observations"
BY = "REF_AREA,SEX,TIME_PERIOD"


def women(answer: Any) -> str | int | None:
    """The women's figure of UZB 2020 in a JSON or CSV answer (None or "" when withheld)."""
    assert answer.status_code == 200, answer.text
    if answer.headers["content-type"].startswith("text/csv"):
        rows = [r for r in csv.DictReader(io.StringIO(answer.text)) if r["SEX"] == "F"]
        assert len(rows) == 1, answer.text
        return rows[0]["OBS_VALUE"]
    (item,) = [i for i in answer.json()["items"] if i["SEX"] == "F"]
    value: int | None = item["OBS_VALUE"]
    return value


# The same question asked in ways that reach different keys (or none).
SPELLINGS = [
    pytest.param(f"by={BY}", {}, id="plain"),
    pytest.param("by=REF_AREA%2CSEX%2CTIME_PERIOD", {}, id="percent-encoded"),
    pytest.param(f"by=SEX&by={BY}", {}, id="duplicated"),
    pytest.param(f"by={BY.lower()}", {}, id="lower-case"),
    pytest.param(f"by={BY}", {"Accept": "*/*"}, id="accept-any"),
    pytest.param(f"by={BY}", {"ACCEPT": "application/json"}, id="accept-json"),
    pytest.param(f"by={BY}", {"accept": "text/csv"}, id="accept-csv"),
    pytest.param(f"by={BY}&format=csv", {"Accept": "application/json"}, id="format-csv"),
    pytest.param(f"by={BY}", {"Accept-Language": "ru, en;q=0.5"}, id="languages"),
]


@pytest.mark.parametrize(("query", "headers"), SPELLINGS)
def test_a_small_count_reaches_only_its_state(
    client: TestClient,
    role_headers: Mapping[Role, dict[str, str]],
    database: Database,
    query: str,
    headers: dict[str, str],
) -> None:
    """The reporting state asks first, so its exact answer is kept; then every protected view
    asks the very same thing (GET, HEAD, with its validators): none is given the figure."""
    agency = role_headers[Role.member_state]  # UZB
    neighbour = bearer(get_token(client, client_for_role(database, Role.member_state, "KAZ")))
    report(client, agency, women=2)
    url = f"{AGGREGATES}?{query}"
    exact = client.get(url, headers={**headers, **agency})
    assert women(exact) in (2, "2")
    assert "authorization" in exact.headers["vary"].lower()
    readers = [{}, role_headers[Role.researcher], role_headers[Role.partner], neighbour]
    for _ in range(2):  # computed, then kept
        for reader in readers:
            answer = client.get(url, headers={**headers, **reader})
            assert women(answer) in (None, ""), (reader, answer.text)
            assert answer.headers["etag"] != exact.headers["etag"]
            # The exact answer's validator names nothing this reader may have.
            again = client.get(
                url, headers={**headers, **reader, "If-None-Match": exact.headers["etag"]}
            )
            assert again.status_code == 200
            assert women(again) in (None, "")
            head = client.head(url, headers={**headers, **reader})
            assert head.status_code == 200
            assert head.content == b""
            assert head.headers["etag"] == answer.headers["etag"]
    assert women(client.get(url, headers={**headers, **role_headers[Role.secretariat]})) in (2, "2")


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-token", "Basic dXNlcjpwYXNz", "", "Bearer ", "bearer  "],
)
def test_a_bad_token_is_refused_when_the_answer_is_kept(
    client: TestClient, role_headers: Mapping[Role, dict[str, str]], authorization: str
) -> None:
    """Kept answers (the public's and the agency's) are never the answer to a token that is
    not one: it is refused, as it would be without a cache."""
    report(client, role_headers[Role.member_state], women=2)
    url = f"{AGGREGATES}?by={BY}"
    assert women(client.get(url)) is None
    assert women(client.get(url, headers=role_headers[Role.member_state])) == 2
    for name in ("Authorization", "authorization", "AUTHORIZATION"):
        refused = client.get(url, headers={name: authorization})
        assert refused.status_code == 401, refused.text
        assert "OBS_VALUE" not in refused.text


def test_an_expired_token_is_refused_when_the_answer_is_kept(
    app: FastAPI, client: TestClient, role_headers: Mapping[Role, dict[str, str]]
) -> None:
    """The agency's exact answer is kept; the same agency's token, expired (signed with the
    real key), is refused rather than given it."""
    agency = role_headers[Role.member_state]
    report(client, agency, women=2)
    url = f"{AGGREGATES}?by={BY}"
    assert women(client.get(url, headers=agency)) == 2
    assert women(client.get(url, headers=agency)) == 2
    claims = jwt.get_unverified_claims(agency["Authorization"].removeprefix("Bearer "))
    claims.update(iat=claims["iat"] - 3600, exp=claims["iat"] - 60)
    with app.state.database.transaction() as session:
        kid, private_pem = app.state.keyring.signing_key(session)
    expired = tokens.encode(claims, kid, private_pem)
    refused = client.get(url, headers=bearer(expired))
    assert refused.status_code == 401, refused.text
    assert "OBS_VALUE" not in refused.text


def remaining(answer: Any) -> int:
    assert answer.status_code == 200, answer.text
    return int(answer.headers["ratelimit-remaining"])


@pytest.mark.parametrize("path", [f"{AGGREGATES}?by={BY}", f"{OBSERVATIONS}?limit=2"])
def test_each_request_counts_once(
    client: TestClient, role_headers: Mapping[Role, dict[str, str]], path: str
) -> None:
    """Computed or kept, anonymous or with a token: one request, one count (a route under the
    router's rate limit that counted again would halve every caller's limit)."""
    agency = role_headers[Role.member_state]
    report(client, agency, women=2)
    for caller in ({}, agency):
        counts = [remaining(client.get(path, headers=caller)) for _ in range(3)]
        assert counts == [counts[0], counts[0] - 1, counts[0] - 2], (caller, counts)
        # Another query (computed, not kept) counts once too.
        computed = remaining(client.get(f"{path}&start_period=2019", headers=caller))
        assert computed == counts[-1] - 1


def test_the_limit_holds_for_kept_answers(database: Database) -> None:
    app = create_app(make_settings(str(database.engine.url), rate_anonymous=3), database)
    with TestClient(app, raise_server_exceptions=False) as limited:
        url = f"{AGGREGATES}?by={BY}"
        statuses = [limited.get(url).status_code for _ in range(5)]
        head = limited.head(url)
    assert statuses == [200, 200, 200, 429, 429]
    assert head.status_code == 429


@pytest.mark.parametrize(
    "query",
    [
        f"by={BY}&start_period=2020-13",
        "by=REF_AREA,NOPE",
        f"by={BY}&frequency=W",
        f"by={BY}&format=xml",
        f"by={BY}&unknown=1",
        f"by={'A' * 201}",
    ],
)
def test_a_refusal_is_never_kept_nor_replaced_by_an_answer(
    client: TestClient, role_headers: Mapping[Role, dict[str, str]], query: str
) -> None:
    report(client, role_headers[Role.member_state], women=20)
    assert women(client.get(f"{AGGREGATES}?by={BY}")) == 20
    for _ in range(3):
        refused = client.get(f"{AGGREGATES}?{query}")
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
    # And what was asked well is still answered.
    assert women(client.get(f"{AGGREGATES}?by={BY}")) == 20


def test_a_bad_cursor_is_refused_every_time(client: TestClient) -> None:
    for _ in range(3):
        refused = client.get(f"{OBSERVATIONS}?limit=1&cursor=not-a-cursor")
        assert refused.status_code in (400, 422), refused.text


def test_406_comes_before_a_kept_answer(client: TestClient) -> None:
    url = f"{AGGREGATES}?by={BY}"
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200
    refused = client.get(url, headers={"Accept": "application/xml"})
    assert refused.status_code == 406, refused.text


def pages(client: TestClient, headers: dict[str, str], host: str | None = None) -> list[Any]:
    """Every observation, one page at a time, following the Link headers."""
    items: list[Any] = []
    url: str | None = f"{OBSERVATIONS}?limit=1"
    sent = {**headers, **({"Host": host, "X-Forwarded-Host": host} if host else {})}
    while url is not None:
        answer = client.get(url, headers=sent)
        assert answer.status_code == 200, answer.text
        items.extend(answer.json()["items"])
        link = answer.headers.get("link")
        if link is None:
            url = None
        else:
            assert link.startswith("</v1/"), link  # never another host
            url = link[1 : link.index(">")]
        assert len(items) < 20
    return items


def test_paging_through_kept_pages_gives_each_view_its_own_cells(
    client: TestClient, role_headers: Mapping[Role, dict[str, str]]
) -> None:
    """Pages kept for one view (and for a Host chosen by the caller) never stand for another's;
    paged twice (computed, then kept) they are the one-page answer of that view."""
    agency = role_headers[Role.member_state]
    report(client, agency, women=2)
    for reader in (agency, {}, role_headers[Role.partner]):
        whole = client.get(f"{OBSERVATIONS}?limit=100", headers=reader).json()["items"]
        assert len(whole) == 3
        assert pages(client, reader, host="evil.example") == whole
        assert pages(client, reader) == whole
    assert [i["OBS_VALUE"] for i in pages(client, {}) if i["SEX"] == "F"] == [None]
    assert [i["OBS_VALUE"] for i in pages(client, agency) if i["SEX"] == "F"] == [2]


def test_a_write_through_another_process_is_seen_at_once(
    client: TestClient, database: Database, role_headers: Mapping[Role, dict[str, str]]
) -> None:
    """Two processes on one database, without Redis: the one that did not write never answers
    from what it kept before the write."""
    agency = role_headers[Role.member_state]
    report(client, agency, women=20)
    other = create_app(database.settings, Database.from_settings(database.settings))
    url = f"{AGGREGATES}?by={BY}"
    with TestClient(other) as second:
        for caller in ({}, agency):
            assert women(second.get(url, headers=caller)) == 20
            assert women(second.get(url, headers=caller)) == 20
        report(client, agency, women=3)
        assert women(second.get(url)) is None
        assert women(second.get(url, headers=agency)) == 3
        assert women(second.get(f"{OBSERVATIONS}?limit=100")) is None


def test_the_callers_text_counts_against_the_bound(database: Database) -> None:
    """Answers of a few bytes under long Accept headers: the cache's memory stays within its
    bound (the keys' text is counted), rather than growing with every distinct header."""
    app = create_app(database.settings, database)
    bound = 64 * 1024
    app.state.read_cache = ReadCache(database, bound)
    cache: ReadCache = app.state.read_cache
    padding = "x" * 6000
    with TestClient(app) as http:
        for number in range(40):
            accept = f"application/json, application/x-{number}-{padding}"
            answer = http.get(f"{AGGREGATES}?by={BY}", headers={"Accept": accept})
            assert answer.status_code == 200, answer.text
    held = sum(len(json.dumps(key)) + len(kept.answer.body) for key, kept in cache._kept.items())
    assert 0 < held <= bound
    assert cache._bytes <= bound


def stored(answer: Answer) -> bytes:
    head = json.dumps([answer.media_type, answer.headers]).encode()
    return head + b"\n" + answer.body


@pytest.mark.parametrize(
    "value",
    [
        b"[" * 100_000 + b"\n{}",
        b'["application/json", [["Set-Cookie", "session=attacker"]]]\n{"items": []}',
        b'["application/json", [["Vary", "Accept\\r\\nX-Injected: 1"]]]\n{"items": []}',
        b'["text/html\\r\\nX: 1", []]\n<script>',
        b'{"a": 1, "b": 2}\n{}',
        b"\xff\xfe\n{}",
        b"",
    ],
    ids=["deep", "cookie", "crlf-header", "crlf-type", "object", "bytes", "empty"],
)
def test_a_value_that_is_not_ours_is_not_an_answer(value: bytes) -> None:
    assert shared_answers._decode(value) is None


def test_our_own_values_are_answers() -> None:
    answer = Answer(
        b"REF_AREA\n",
        "text/csv; charset=utf-8",
        (("Content-Disposition", 'attachment; filename="a.csv"'), ("Vary", "Accept")),
    )
    assert shared_answers._decode(stored(answer)) == answer
    link = Answer(b"{}", headers=(("Vary", "Accept"), ("Link", '</v1/x?cursor=a>; rel="next"')))
    assert shared_answers._decode(stored(link)) == link


@pytest.mark.skipif(REDIS_URL is None, reason="RECNET_TEST_REDIS_URL not set")
def test_a_poisoned_shared_value_is_computed_instead(
    client: TestClient, database: Database, role_headers: Mapping[Role, dict[str, str]]
) -> None:
    """A value in Redis under the very name a process reads, but not one of ours (nested past
    the parser's depth, or setting a cookie): the process computes the answer itself."""
    import redis

    assert REDIS_URL is not None
    agency = role_headers[Role.member_state]
    report(client, agency, women=2)
    shared = SharedAnswers(REDIS_URL, f"test-{uuid.uuid4()}", ttl=60)
    app = create_app(database.settings, Database.from_settings(database.settings))
    app.state.read_cache = ReadCache(app.state.database, 1024 * 1024, shared)
    url = f"{AGGREGATES}?by={BY}"
    with database.transaction() as session:
        head, mark = head_event(session)
    # What TestClient sends: Accept */*.
    key = ((AGGREGATES, f"by={BY}", (), "*/*"), visibility_class(ANONYMOUS))
    name = shared.name(key, head, mark)
    poisons = [
        b"[" * 100_000 + b"\n{}",
        b'["application/json", [["Set-Cookie", "s=1"]]]\n{"items": [{"OBS_VALUE": 2}]}',
    ]
    plain = redis.Redis.from_url(REDIS_URL)
    try:
        for poison in poisons:
            plain.set(name, poison, ex=60)
            with TestClient(app, raise_server_exceptions=False) as http:
                app.state.read_cache = ReadCache(app.state.database, 1024 * 1024, shared)
                answer = http.get(url)
                assert answer.status_code == 200, answer.text
                assert "set-cookie" not in answer.headers
                assert women(answer) is None
            assert plain.get(name) != poison  # replaced by the answer computed instead
    finally:
        plain.delete(name)
        plain.close()


@pytest.mark.skipif(REDIS_URL is None, reason="RECNET_TEST_REDIS_URL not set")
def test_shared_answers_keep_views_and_formats_apart(
    client: TestClient, database: Database, role_headers: Mapping[Role, dict[str, str]]
) -> None:
    """Two processes sharing one Redis: whatever order the agency, the public and a neighbour
    ask in, and in which format, each is given its own answer by either process."""
    assert REDIS_URL is not None
    agency = role_headers[Role.member_state]
    report(client, agency, women=2)
    shared = SharedAnswers(REDIS_URL, f"test-{uuid.uuid4()}", ttl=60)
    apps = []
    for _ in range(2):
        app = create_app(database.settings, Database.from_settings(database.settings))
        app.state.read_cache = ReadCache(app.state.database, 1024 * 1024, shared)
        apps.append(app)
    url = f"{AGGREGATES}?by={BY}"
    with TestClient(apps[0]) as one, TestClient(apps[1]) as two:
        for accept in ("application/json", "text/csv", None):
            sent = {"Accept": accept} if accept else {}
            assert women(one.get(url, headers={**sent, **agency})) in (2, "2")
            for http in (two, one):
                public = http.get(url, headers=sent)
                assert women(public) in (None, "")
                wanted = "text/csv" if accept == "text/csv" else "application/json"
                assert public.headers["content-type"].startswith(wanted)
                assert women(http.get(url, headers={**sent, **agency})) in (2, "2")
        report(client, agency, women=3)
        assert women(two.get(url, headers=agency)) == 3
        assert women(one.get(url, headers=agency)) == 3
        assert women(one.get(url)) is None


def test_repeated_accept_headers_get_the_format_their_key_names(client: TestClient) -> None:
    """The key names the first Accept header, as the route's choice of format reads it: two
    Accept headers cannot make a kept CSV answer stand for JSON, or the other way round."""
    url = f"{AGGREGATES}?by={BY}"
    as_json = client.get(url, headers=[("accept", "application/json"), ("accept", "text/csv")])
    as_csv = client.get(url, headers=[("accept", "text/csv"), ("accept", "application/json")])
    for _ in range(2):
        again_json = client.get(url, headers={"Accept": "application/json"})
        again_csv = client.get(url, headers={"Accept": "text/csv"})
        assert again_json.headers["content-type"] == "application/json"
        assert again_csv.headers["content-type"].startswith("text/csv")
    assert as_json.headers["content-type"] == "application/json"
    assert as_csv.headers["content-type"].startswith("text/csv")


@pytest.mark.skipif(REDIS_URL is None, reason="RECNET_TEST_REDIS_URL not set")
def test_a_database_made_again_under_its_url_never_takes_the_old_ones_answers(
    database: Database, db_url: str
) -> None:
    """A database emptied and filled again (or restored, or another deployment's with the same
    URL) reaches the same heads with other figures: processes sharing a Redis under that URL
    take only answers computed from the log they read, not one with the same head number."""
    assert REDIS_URL is not None
    namespace = f"test-{uuid.uuid4()}"  # one URL for both lives of the database
    url = f"{AGGREGATES}?by={BY}"
    seen = []
    for figure in (20, 25):
        shared = SharedAnswers(REDIS_URL, namespace, ttl=60)
        app = create_app(database.settings, Database.from_settings(database.settings))
        app.state.read_cache = ReadCache(app.state.database, 1024 * 1024, shared)
        with TestClient(app) as http:
            agency = bearer(get_token(http, client_for_role(database, Role.member_state, "UZB")))
            report(http, agency, women=figure)
            seen.append(database.event_head())
            assert women(http.get(url)) == figure
        reset(db_url)
    assert seen[0] == seen[1]  # the same head, another log
