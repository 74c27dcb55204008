"""The record lists' direct path (api/direct.py, api/v1/record_lists.py) gives, byte for byte,
the answer FastAPI's route gives: to every caller, for every query it takes, and it leaves every
other query (each refusal among them) to the route."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from recnet.api.conventions import route_rules
from recnet.api.v1 import record_lists
from recnet.api.v1.record_lists import PARAMETERS, parse_list_query
from recnet.app import create_app
from recnet.auth.principal import Role
from recnet.db import Database
from recnet.services.practices import PRACTICES
from recnet.services.programmes import PROGRAMMES
from tests.factories import bearer, client_for_role, get_token, make_record

# Headers that differ between two answers to the same request by their nature.
UNRELATED = {"date"}
# The request id both are asked under (problem bodies carry it).
ONE_ID = {"X-Request-Id": "compared"}

# Every test: the rate limiter's clock held still (conftest.py).
pytestmark = pytest.mark.usefixtures("still_clock")

# Queries the direct path takes (and must answer exactly as the route).
TAKEN = [
    "",
    "limit=1",
    "limit=50",
    "limit=10000",
    "tenant=UZB",
    "tenant=KAZ&limit=2",
    "working_group=psychosocial_health_education",
    "approach=mobile_classes",
    "component=family_reunification",
    "approach=education&component=medical",
    "target_group=girls&evidence_level=monitoring",
    "activity_status=implementation",
    "status=draft",
    "status=published&tlp=AMBER",
    "tlp=CLEAR",
    "lang=ru",
    "lang=uz&limit=3",
    "updated_since=2000-01-01",
    "updated_since=2000-01-01T00:00:00Z",
    "updated_since=" + quote("2000-01-01T05:00:00+05:00"),
    "updated_since=2000-01-01T00:00:00.123456",
    "updated_since=946684800",
    "updated_since=2999-01-01T00:00:00Z",
    "q=classes",
    "q=" + quote("дети"),
    "q=classes&sort=relevance",
    "sort=created_at",
    "sort=-updated_at&limit=2",
    "cursor=not-a-cursor",
    "cursor=eyJ2IjoiMjAwMC0wMS0wMVQwMDowMDowMCswMDowMCIsImlkIjoieCJ9",
]
# Queries it leaves to the route: malformed, repeated, empty, unusual or unknown.
LEFT = [
    "limit=0",
    "limit=10001",
    "limit=050",
    "limit=%2B5",
    "limit=5.0",
    "limit=",
    "tenant=uzb",
    "tenant=UZBK",
    "tenant=UZB%0A",
    "tenant=",
    "working_group=nonsense",
    "tlp=clear",
    "status=DRAFT",
    "lang=EN",
    "sort=relevant",
    "updated_since=yesterday",
    "updated_since=2000-13-01",
    "updated_since=",
    "q=" + "x" * 201,
    "cursor=" + "x" * 501,
    "limit=2&limit=3",
    "tenant=UZB&tenant=KAZ",
    "limitt=2",
    "q",
]


def _network(database: Database) -> None:
    """Records of every kind, tenant, marking and status, in several languages."""
    for tenant in ("UZB", "KAZ", "TJK"):
        for tlp in ("CLEAR", "GREEN", "AMBER"):
            make_record(database, PRACTICES, tenant, status="published", tlp=tlp)
        make_record(database, PRACTICES, tenant, status="draft")
        make_record(
            database,
            PRACTICES,
            tenant,
            status="published",
            title={"uz": "Mobil darslar", "ru": "Мобильные классы"},
            approaches=["medical"],
            target_groups=["boys"],
        )
        make_record(database, PROGRAMMES, tenant, status="published")
        make_record(database, PROGRAMMES, tenant, status="published", tlp="GREEN")


def _callers(client: TestClient, database: Database) -> dict[str, dict[str, str]]:
    roles = {
        "researcher": client_for_role(database, Role.researcher),
        "partner": client_for_role(database, Role.partner),
        "secretariat": client_for_role(database, Role.secretariat),
        "UZB": client_for_role(database, Role.member_state, "UZB"),
        "KAZ": client_for_role(database, Role.member_state, "KAZ"),
    }
    callers = {name: bearer(get_token(client, found)) for name, found in roles.items()}
    return {
        "anonymous": {},
        **callers,
        "bad token": {"Authorization": "Bearer not-a-token"},
        "basic": {"Authorization": "Basic eA=="},
    }


def _comparable(response: object) -> tuple[int, bytes, dict[str, str]]:
    status, body, headers = response.status_code, response.content, response.headers  # type: ignore[attr-defined]
    kept = {name: value for name, value in headers.items() if name not in UNRELATED}
    return status, body, kept


def _same(
    direct: TestClient, routed: TestClient, method: str, url: str, headers: Mapping[str, str]
) -> tuple[int, bytes, dict[str, str]]:
    sent = {**headers, **ONE_ID}
    one = _comparable(direct.request(method, url, headers=sent))
    other = _comparable(routed.request(method, url, headers=sent))
    assert one == other, f"{method} {url} {dict(headers)}"
    return one


def test_the_direct_path_knows_every_parameter_of_the_route(app: FastAPI) -> None:
    for plural in ("practices", "programmes"):
        (rule,) = (
            r for r in route_rules(app.routes) if r.path == f"/v1/{plural}" and "GET" in r.methods
        )
        assert rule.parameters == PARAMETERS


@pytest.mark.parametrize("query", TAKEN)
def test_queries_the_route_takes_are_taken(query: str) -> None:
    assert parse_list_query(query.encode()) is not None


@pytest.mark.parametrize("query", LEFT)
def test_queries_it_does_not_take_are_left_to_the_route(query: str) -> None:
    assert parse_list_query(query.encode()) is None


def test_every_caller_gets_the_routes_answer_from_the_direct_path(
    apps: tuple[TestClient, TestClient], client: TestClient, database: Database
) -> None:
    direct, routed = apps
    _network(database)
    # Tokens from a third app, so that both apps count the same requests.
    callers = _callers(client, database)
    statuses: dict[int, int] = {}
    for plural in ("practices", "programmes"):
        for query in TAKEN + LEFT:
            for headers in callers.values():
                url = f"/v1/{plural}?{query}"
                status, _, _ = _same(direct, routed, "GET", url, headers)
                statuses[status] = statuses.get(status, 0) + 1
    # Pages, refusals of values and of unknown parameters, bad tokens: all were compared, and
    # none was a failure of the service.
    assert {200, 401, 422} <= set(statuses)
    assert not [status for status in statuses if status >= 500]


def test_what_each_caller_sees_is_unchanged(
    apps: tuple[TestClient, TestClient], client: TestClient, database: Database
) -> None:
    """Visibility through the direct path, spelt out (not only equal to the route's)."""
    direct, _ = apps
    _network(database)
    callers = _callers(client, database)

    def seen(name: str) -> set[tuple[str, str, str]]:
        page = direct.get("/v1/practices?limit=100", headers=callers[name])
        assert page.status_code == 200
        return {(i["tenant"], i["tlp"], i["status"]) for i in page.json()["items"]}

    assert seen("anonymous") == {(t, "CLEAR", "published") for t in ("UZB", "KAZ", "TJK")}
    assert seen("researcher") == seen("anonymous")
    assert {tlp for _, tlp, _ in seen("partner")} == {"CLEAR", "GREEN"}
    uzb = seen("UZB")
    assert ("UZB", "AMBER", "published") in uzb
    assert ("UZB", "CLEAR", "draft") in uzb
    assert ("KAZ", "CLEAR", "draft") not in uzb
    assert ("KAZ", "AMBER", "published") in uzb


def test_conditional_and_head_requests_and_languages_are_answered_alike(
    apps: tuple[TestClient, TestClient], database: Database
) -> None:
    direct, routed = apps
    _network(database)
    url = "/v1/practices?limit=2"
    _, _, headers = _same(direct, routed, "GET", url, {"Accept-Language": "uz, ru;q=0.5"})
    assert "link" in headers  # a next page: its link is built alike
    etag = headers["etag"]
    again = {"Accept-Language": "uz, ru;q=0.5", "If-None-Match": etag}
    status, _, _ = _same(direct, routed, "GET", url, again)
    assert status == 304
    status, body, _ = _same(direct, routed, "HEAD", url, {})
    assert (status, body) == (200, b"")
    _same(direct, routed, "GET", url, {"Accept": "text/csv"})  # 406, by the conventions
    _same(direct, routed, "GET", url, {"Accept-Language": "kk;q=0, tg"})
    # Every answer is computed once by each app and then reused from its cache: alike again.
    _same(direct, routed, "GET", url, {"Accept-Language": "uz, ru;q=0.5"})


def test_the_rate_limit_counts_and_refuses_on_the_direct_path(database: Database) -> None:
    settings = database.settings.model_copy(update={"rate_anonymous": 3})
    make_record(database, PRACTICES, status="published")
    answers = {}
    for direct_reads in (True, False):
        app = create_app(settings.model_copy(update={"direct_reads": direct_reads}), database)
        with TestClient(app, raise_server_exceptions=False) as client:
            answers[direct_reads] = [
                _comparable(client.get(f"/v1/practices?limit={n}", headers=ONE_ID))
                for n in range(1, 6)
            ]
    assert answers[True] == answers[False]
    assert [status for status, _, _ in answers[True]] == [200, 200, 200, 429, 429]
    assert answers[True][3][2]["retry-after"] == "40"


def test_an_error_without_a_handler_is_the_outer_layers_500(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("broken")

    monkeypatch.setattr(record_lists, "count_request", broken)
    response = client.get("/v1/practices")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "broken" not in response.text
    assert response.headers["x-request-id"] == response.json()["request_id"]


def test_metrics_count_the_direct_path_under_the_routes_template(database: Database) -> None:
    settings = database.settings.model_copy(update={"metrics": "public"})
    with TestClient(create_app(settings, database), raise_server_exceptions=False) as client:
        assert client.get("/v1/practices?limit=2").status_code == 200
        assert client.get("/v1/programmes?limit=2").status_code == 200
        text = client.get("/metrics").text
    counted = {
        sample.labels["route"]
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "recnet_http_requests_total" and sample.labels.get("status") == "200"
    }
    assert {"/v1/practices", "/v1/programmes"} <= counted
