"""The HTTP conventions every route follows (api/conventions.py, api/http.py): HEAD, Link to the
next page, CORS for anonymous reads, validators and cache rules, Accept and unknown parameters."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from recnet.app import api_routes, create_app
from recnet.auth.principal import Role
from recnet.db import Database
from recnet.services.practices import PRACTICES
from tests.conftest import make_settings
from tests.factories import bearer, client_for_role, get_token, make_record

PROBLEM = "application/problem+json"


def _next(link: str) -> tuple[str, dict[str, list[str]]]:
    target, rel = link.split(";", 1)
    assert rel.strip() == 'rel="next"'
    url = urlsplit(target.strip().removeprefix("<").removesuffix(">"))
    return url.path, parse_qs(url.query)


# ------------------------------------------------------------------ HEAD


def test_head_answers_every_get_route_like_get(client: TestClient, database: Database) -> None:
    record = make_record(database, PRACTICES, status="published")
    for path in (
        "/v1/practices",
        f"/v1/practices/{record.id}",
        "/v1/organisations",
        "/v1/statistics/structure",
        "/v1/openapi.json",
        "/v1/feeds/practices.atom",
    ):
        got = client.get(path)
        head = client.head(path)
        assert got.status_code == head.status_code == 200, (path, head.text)
        assert head.content == b""
        for name in ("content-type", "etag", "content-length"):
            assert head.headers.get(name) == got.headers.get(name), (path, name)
    assert client.head("/v1/practices/00000000-0000-0000-0000-000000000000").status_code == 404


def test_head_is_not_a_second_operation_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/v1/openapi.json").json()["paths"]
    assert not any("head" in operations for operations in paths.values())


def test_every_get_route_answers_head(app: FastAPI, client: TestClient) -> None:
    """No GET route of the API answers HEAD with 405 (path parameters filled with a value of
    the right form; the answer may be 401, 404 or 422, never 405)."""
    for context in api_routes(app):
        route = context.original_route
        if "GET" not in route.methods:  # type: ignore[attr-defined]
            continue
        path = context.path
        for name in ("record_id", "id", "client_id", "subscription_id"):
            path = path.replace("{" + name + "}", "00000000-0000-0000-0000-000000000000")
        path = path.replace("{", "").replace("}", "")
        assert client.head(path).status_code != 405, path


# ------------------------------------------------------------------ Link: rel="next"


def test_record_list_links_its_next_page(client: TestClient, database: Database) -> None:
    for n in range(3):
        make_record(database, PRACTICES, status="published", source_ref=f"P-{n}")
    first = client.get("/v1/practices", params={"limit": 2, "lang": "en"})
    body = first.json()
    assert body["next_cursor"]
    path, query = _next(first.headers["link"])
    assert path == "/v1/practices"
    assert query == {"limit": ["2"], "lang": ["en"], "cursor": [body["next_cursor"]]}
    last = client.get(path, params={k: v[0] for k, v in query.items()})
    assert len(last.json()["items"]) == 1
    assert last.json()["next_cursor"] is None
    assert "link" not in last.headers


def test_link_is_absolute_with_the_public_url(database: Database) -> None:
    settings = make_settings(database.settings.database_url, public_url="https://recnet.example")
    for n in range(2):
        make_record(database, PRACTICES, status="published", source_ref=f"P-{n}")
    with TestClient(create_app(settings, database)) as http:
        link = http.get("/v1/practices", params={"limit": 1}).headers["link"]
    assert link.startswith("<https://recnet.example/v1/practices?limit=1&cursor=")


def test_statistics_observations_link_their_next_page(
    client: TestClient, database: Database
) -> None:
    agency = bearer(get_token(client, client_for_role(database, Role.member_state, "UZB")))
    observations = [
        {
            "REF_AREA": "UZB",
            "INDICATOR": "RETURNED",
            "SEX": sex,
            "AGE": "_T",
            "COUNTERPART_AREA": "_T",
            "TIME_PERIOD": "2020",
            "OBS_VALUE": 50,
        }
        for sex in ("F", "M")
    ]
    assert (
        client.post(
            "/v1/statistics/observations", json={"observations": observations}, headers=agency
        ).status_code
        == 200
    )
    first = client.get("/v1/statistics/observations", params={"limit": 1, "sex": "F,M"})
    path, query = _next(first.headers["link"])
    assert query["cursor"] == [first.json()["next_cursor"]]
    assert query["sex"] == ["F,M"]
    second = client.get(path, params={k: v[0] for k, v in query.items()})
    assert second.status_code == 200
    assert len(second.json()["items"]) == 1


def test_change_feed_and_audit_link_their_next_page(
    client: TestClient, database: Database, role_headers: dict[Role, dict[str, str]]
) -> None:
    for n in range(3):
        make_record(database, PRACTICES, status="published", source_ref=f"P-{n}")
    feed = client.get(
        "/v1/feeds/changes", params={"limit": 1}, headers=role_headers[Role.secretariat]
    )
    assert feed.status_code == 200, feed.text
    path, query = _next(feed.headers["link"])
    assert path == "/v1/feeds/changes"
    assert query["after"] == [feed.json()["next_cursor"]]
    audit = client.get("/v1/audit", params={"limit": 1}, headers=role_headers[Role.secretariat])
    assert audit.status_code == 200, audit.text
    path, query = _next(audit.headers["link"])
    assert path == "/v1/audit"
    assert query["cursor"] == [audit.json()["next_cursor"]]


# ------------------------------------------------------------------ CORS


@pytest.fixture
def cors(database: Database) -> Iterator[TestClient]:
    settings = make_settings(
        database.settings.database_url, cors_origins="https://explorer.example, https://b.example"
    )
    with TestClient(create_app(settings, database), raise_server_exceptions=False) as http:
        yield http


ORIGIN = {"Origin": "https://explorer.example"}


def test_cors_lets_configured_origins_read_anonymously(cors: TestClient) -> None:
    read = cors.get("/v1/organisations", headers=ORIGIN)
    assert read.headers["access-control-allow-origin"] == "https://explorer.example"
    assert "ETag" in read.headers["access-control-expose-headers"]
    assert "Origin" in read.headers["vary"]
    assert "access-control-allow-credentials" not in read.headers
    other = cors.get("/v1/organisations", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_cors_is_for_the_api_only_never_for_pages_or_metrics(
    cors: TestClient, database: Database
) -> None:
    """Other origins may read the API and its metadata, not the explorer, the record pages, the
    upload desk or /metrics (red team: they were given CORS like any GET)."""
    assert "access-control-allow-origin" in cors.get("/v1/organisations", headers=ORIGIN).headers
    metadata = cors.get("/.well-known/oauth-authorization-server", headers=ORIGIN)
    assert "access-control-allow-origin" in metadata.headers
    for path in ("/", "/upload", "/metrics", "/docs"):
        answer = cors.get(path, headers=ORIGIN)
        assert "access-control-allow-origin" not in answer.headers, path
        preflight = cors.options(path, headers={**ORIGIN, "Access-Control-Request-Method": "GET"})
        assert "access-control-allow-origin" not in preflight.headers, path


def test_cors_is_never_given_to_requests_with_credentials(
    cors: TestClient, database: Database
) -> None:
    token = get_token(cors, client_for_role(database, Role.secretariat))
    read = cors.get("/v1/organisations", headers={**ORIGIN, **bearer(token)})
    assert read.status_code == 200
    assert "access-control-allow-origin" not in read.headers
    assert "access-control-allow-credentials" not in read.headers


def test_cors_preflight(cors: TestClient) -> None:
    ok = cors.options(
        "/v1/practices",
        headers={
            **ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Accept-Language, If-None-Match",
        },
    )
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == "https://explorer.example"
    assert ok.headers["access-control-allow-methods"] == "GET, HEAD"
    assert "if-none-match" in ok.headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in ok.headers
    for headers in (
        {**ORIGIN, "Access-Control-Request-Method": "POST"},
        {
            **ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
        {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    ):
        refused = cors.options("/v1/practices", headers=headers)
        assert refused.status_code == 403, headers
        assert refused.headers["content-type"] == PROBLEM
        assert "access-control-allow-origin" not in refused.headers


def test_cors_is_off_by_default(client: TestClient) -> None:
    read = client.get("/v1/organisations", headers=ORIGIN)
    assert "access-control-allow-origin" not in read.headers


def test_cors_any_origin(database: Database) -> None:
    settings = make_settings(database.settings.database_url, cors_origins="*")
    with TestClient(create_app(settings, database)) as http:
        read = http.get("/v1/organisations", headers={"Origin": "https://anywhere.example"})
    assert read.headers["access-control-allow-origin"] == "*"


def test_cors_origins_are_validated(database: Database) -> None:
    with pytest.raises(ValueError, match="not a web origin"):
        make_settings(database.settings.database_url, cors_origins="explorer.example/path")


# ------------------------------------------------------------------ validators and cache rules


def test_organisations_carry_validators_and_a_cache_rule(client: TestClient) -> None:
    first = client.get("/v1/organisations")
    assert first.headers["cache-control"] == "public, max-age=300"
    assert first.headers["last-modified"].endswith("GMT")
    again = client.get("/v1/organisations", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    since = client.get(
        "/v1/organisations", headers={"If-Modified-Since": first.headers["last-modified"]}
    )
    assert since.status_code == 304


def test_openapi_document_carries_validators_and_a_cache_rule(client: TestClient) -> None:
    first = client.get("/v1/openapi.json")
    assert first.status_code == 200
    assert first.headers["etag"]
    assert first.headers["last-modified"].endswith("GMT")
    assert first.headers["cache-control"] == "public, max-age=300"
    again = client.get("/v1/openapi.json", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]


# ------------------------------------------------------------------ Accept and parameters


def test_an_accept_the_route_cannot_produce_is_406(client: TestClient) -> None:
    for path in ("/v1/organisations", "/v1/practices", "/v1/statistics/aggregates"):
        refused = client.get(path, headers={"Accept": "application/xml"})
        assert refused.status_code == 406, path
        assert refused.headers["content-type"] == PROBLEM
        assert "application/json" in refused.json()["detail"]
    # What a browser or a generic client sends is answered.
    for accept in ("*/*", "text/html,application/xhtml+xml,*/*;q=0.8", "application/*"):
        assert client.get("/v1/organisations", headers={"Accept": accept}).status_code == 200
    assert (
        client.get("/v1/feeds/practices.json", headers={"Accept": "application/json"}).status_code
        == 200
    )
    assert (
        client.get(
            "/v1/organisations", headers={"Accept": "application/xml;q=0, application/json"}
        ).status_code
        == 200
    )


def test_an_unknown_format_is_refused(client: TestClient) -> None:
    for path in ("/v1/statistics/aggregates", "/v1/statistics/observations"):
        refused = client.get(path, params={"format": "xml"})
        assert refused.status_code == 422, path
        assert refused.headers["content-type"] == PROBLEM


def test_unknown_query_parameters_are_named(client: TestClient) -> None:
    refused = client.get("/v1/statistics/observations", params={"fromat": "csv"})
    assert refused.status_code == 422
    assert refused.headers["content-type"] == PROBLEM
    problem = refused.json()
    assert "'fromat'" in problem["detail"]
    [error] = problem["errors"]
    assert error["location"] == "query"
    assert error["field"] == "fromat"
    assert error["code"] == "unknown_parameter"
    assert "'format'" in error["message"]
    for path in ("/v1/practices", "/v1/organisations", "/v1/feeds/practices.atom"):
        assert client.get(path, params={"colour": "red"}).status_code == 422, path
    # SDMX REST clients may send parameters of the specification's own: they are not refused.
    assert client.get("/v1/sdmx/dataflow", params={"references": "none"}).status_code != 422


def test_an_unknown_parameter_on_a_write_writes_nothing(
    client: TestClient, database: Database
) -> None:
    agency = bearer(get_token(client, client_for_role(database, Role.member_state, "UZB")))
    refused = client.post(
        "/v1/statistics/observations",
        params={"dryrun": "true"},
        json={"observations": []},
        headers=agency,
    )
    assert refused.status_code == 422
    assert "'dry_run'" in refused.json()["errors"][0]["message"]
