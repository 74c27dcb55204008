"""Hostile input: answered with a clear 4xx, or stored inertly and returned exactly; never a 5xx."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from recnet.api.middleware import MAX_JSON_DEPTH
from recnet.auth.policy import ROUTE_POLICY
from recnet.auth.principal import Role
from recnet.db import Database
from recnet.schemas.paging import encode_cursor
from tests.conftest import owner_database
from tests.factories import practice_body
from tests.paths import ROOT

STATS = "/v1/statistics/observations"


def assert_problem(response: Any, *statuses: int) -> None:
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    assert response.json()["status"] == response.status_code


def obs(**overrides: Any) -> dict[str, Any]:
    return {
        "REF_AREA": "UZB",
        "INDICATOR": "RETURNED",
        "SEX": "F",
        "AGE": "Y0T4",
        "COUNTERPART_AREA": "SYR",
        "TIME_PERIOD": "2019-Q2",
        "OBS_VALUE": 42,
        **overrides,
    }


# -- size, depth, numbers ----------------------------------------------------------------------


def test_oversized_body_is_413(
    client: TestClient, role_headers: dict[Role, dict[str, str]]
) -> None:
    limit = client.app.state.settings.max_body_bytes
    huge = b'{"title": {"en": "' + b"x" * (limit + 1) + b'"}}'
    for headers in ({}, role_headers[Role.member_state]):
        response = client.post(
            "/v1/practices",
            content=huge,
            headers={**headers, "Content-Type": "application/json"},
        )
        assert_problem(response, 413)


def test_deep_nesting_is_422(client: TestClient, role_headers: dict[Role, dict[str, str]]) -> None:
    depth = MAX_JSON_DEPTH + 5
    deep = b'{"title": ' + b"[" * depth + b"]" * depth + b"}"
    response = client.post(
        "/v1/practices",
        content=deep,
        headers={**role_headers[Role.member_state], "Content-Type": "application/json"},
    )
    assert_problem(response, 422)


@pytest.mark.parametrize("value", [b"1e400", b"-1e400", b"1" + b"0" * 5000, b"NaN", b"Infinity"])
def test_huge_and_non_finite_numbers_are_refused(
    client: TestClient, role_headers: dict[Role, dict[str, str]], value: bytes
) -> None:
    body = (
        b'{"observations": [{"REF_AREA": "UZB", "INDICATOR": "RETURNED", "SEX": "F", '
        b'"AGE": "Y0T4", "COUNTERPART_AREA": "SYR", "TIME_PERIOD": "2019-Q2", "OBS_VALUE": '
        + value
        + b"}]}"
    )
    response = client.post(
        STATS,
        content=body,
        headers={**role_headers[Role.member_state], "Content-Type": "application/json"},
    )
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert_problem(response, response.status_code)
    else:  # a report whose row was rejected
        assert client.get(STATS, params={"format": "json"}).status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"limit": str(10**30)},
        {"limit": "-" + str(10**30)},
        {"limit": "1e400"},
        {"offset": str(10**30)},
        {"after": "9" * 400},
    ],
)
@pytest.mark.parametrize("path", ["/v1/practices", "/v1/programmes", STATS, "/v1/organisations"])
def test_huge_numbers_in_the_query_are_4xx(
    client: TestClient, path: str, params: dict[str, str]
) -> None:
    response = client.get(path, params=params)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert_problem(response, 400, 422)


# -- encodings and NUL -------------------------------------------------------------------------


def test_invalid_utf8_body_is_4xx(
    client: TestClient, role_headers: dict[Role, dict[str, str]]
) -> None:
    agency = role_headers[Role.member_state]
    for body in (b'{"title": {"en": "\xff\xfe\xc3\x28"}}', b"\xc3\x28" * 10, b"\x80"):
        for path in ("/v1/practices", STATS, "/v1/subscriptions"):
            response = client.post(
                path, content=body, headers={**agency, "Content-Type": "application/json"}
            )
            assert_problem(response, 400, 415, 422)
    csv_body = b"REF_AREA,INDICATOR\n\xff\xfe,\x80\n"
    response = client.post(STATS, content=csv_body, headers={**agency, "Content-Type": "text/csv"})
    assert_problem(response, 400, 415, 422)
    token = client.post(
        "/v1/auth/token",
        content=b"grant_type=client_credentials&client_id=\xff\xfe&client_secret=\xc3\x28",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_problem(token, 400, 401, 422)


@pytest.mark.parametrize(
    "query",
    [
        "q=%FF%FE",
        "q=%C3%28",
        "working_group=%80",
        "limit=%FF",
        "after=%ED%A0%80",
        "q=a%00b",
        "working_group=%00",
        "after=%00",
    ],
)
@pytest.mark.parametrize(
    "path", ["/v1/practices", "/v1/programmes", STATS, "/v1/feeds/practices.json"]
)
def test_invalid_utf8_and_nul_in_query_strings_are_4xx(
    client: TestClient, path: str, query: str
) -> None:
    response = client.get(f"{path}?{query}")
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert_problem(response, 400, 422)


def test_nul_bytes_in_text_fields_are_refused(
    client: TestClient, role_headers: dict[Role, dict[str, str]]
) -> None:
    agency = role_headers[Role.member_state]
    for field in ("title", "summary", "description"):
        body = practice_body(**{field: {"en": "before\u0000after"}})
        response = client.post("/v1/practices", json=body, headers=agency)
        assert response.status_code < 500, response.text
        if response.status_code != 201:
            assert_problem(response, 422)
        else:  # stored inertly: must come back exactly
            got = client.get(f"/v1/practices/{response.json()['id']}", headers=agency).json()
            assert got["document"][field]["en"] == "before\u0000after"
    response = client.post("/v1/practices/by-ref/a%00b", json=practice_body(), headers=agency)
    assert response.status_code < 500, response.text
    response = client.put("/v1/practices/by-ref/a%00b", json=practice_body(), headers=agency)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert_problem(response, response.status_code)
    stats = client.post(STATS, json={"observations": [obs(COMMENT="a\u0000b")]}, headers=agency)
    assert stats.status_code < 500, stats.text


# -- injection: stored inertly, returned byte-identical ----------------------------------------

HOSTILE_TEXTS = [
    "'; DROP TABLE record; --",
    "Robert'); DROP TABLE organisation;--",
    "1 OR 1=1; DELETE FROM client WHERE '1'='1",
    '" UNION SELECT client_secret_hash FROM client --',
    "<script>alert(document.cookie)</script>",
    '<img src=x onerror="alert(1)">',
    "{{7*7}} ${7*7} %s %n \\x00",
    "javascript:alert(1)",
    "=cmd|' /C calc'!A0",
]


def table_names(database: Database) -> set[str]:
    engine = owner_database(database.settings.database_url).engine
    return set(inspect(engine).get_table_names())


def test_sql_and_script_fragments_are_stored_inertly(
    client: TestClient, role_headers: dict[Role, dict[str, str]], database: Database
) -> None:
    agency = role_headers[Role.member_state]
    tables_before = table_names(database)
    assert tables_before
    for text in HOSTILE_TEXTS:
        body = practice_body(
            title={"en": text, "ru": text},
            summary={"en": text},
            description={"en": text},
            lessons_learned={"en": text},
            source_ref=None,
        )
        body = {k: v for k, v in body.items() if v is not None}
        created = client.post("/v1/practices", json=body, headers=agency)
        assert created.status_code == 201, created.text
        record_id = created.json()["id"]
        got = client.get(f"/v1/practices/{record_id}", headers=agency)
        assert got.status_code == 200
        record = got.json()
        document = record["document"]
        for field in ("title", "summary", "description", "lessons_learned"):
            assert document[field]["en"] == text, (field, document[field])
        assert document["title"]["ru"] == text
        assert record["title"] == text  # the chosen language's title, unescaped
        # Exactly these bytes in the raw response too (JSON-escaped, not HTML-escaped).
        assert got.headers["content-type"].startswith("application/json")
        # Search with the hostile text is a query parameter, not SQL.
        found = client.get("/v1/practices", params={"q": text}, headers=agency)
        assert found.status_code < 500, found.text
    assert table_names(database) == tables_before
    listing = client.get("/v1/practices", params={"limit": 100}, headers=agency)
    assert listing.status_code == 200
    titles = {item["title"] for item in listing.json()["items"]}
    assert set(HOSTILE_TEXTS) <= titles


# -- path traversal ----------------------------------------------------------------------------


TRAVERSALS = [
    "..%2F..%2Fetc%2Fpasswd",
    "..%252F..%252Fetc%252Fpasswd",
    "%00",
    "abc%00def",
    "..",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..\\..\\windows\\win.ini",
    "%C0%AE%C0%AE%2F",
    "' OR '1'='1",
    "x" * 5000,
]


@pytest.mark.parametrize(
    "template",
    [
        "/v1/practices/{}",
        "/v1/practices/{}/versions",
        "/v1/programmes/{}",
        "/v1/vocabularies/{}",
        "/v1/schemas/{}",
        "/v1/sdmx/data/{}",
        "/v1/sdmx/data/RR_STATS/{}",
        "/v1/subscriptions/{}",
    ],
)
def test_path_traversal_in_ids_is_4xx(
    client: TestClient, role_headers: dict[Role, dict[str, str]], template: str
) -> None:
    # Every suffix against one app and one secretariat token (a test each cost a client and a
    # token per case, 160 times a run); a failure names the suffix.
    for suffix in TRAVERSALS:
        response = client.get(template.format(suffix), headers=role_headers[Role.secretariat])
        assert "root:" not in response.text, suffix
        assert "[fonts]" not in response.text, suffix
        if template.endswith("RR_STATS/{}") and response.status_code == 200:
            # An SDMX key is a filter: one that names no codes selects nothing, inertly.
            assert response.json()["dataSets"][0]["observations"] == {}, suffix
            continue
        assert 400 <= response.status_code < 500, (
            suffix,
            response.status_code,
            response.text[:300],
        )
        assert_problem(response, response.status_code)


# -- CSV formula injection ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "sdmx-csv"])
def test_formula_cells_are_neutralised_in_csv_exports(
    client: TestClient, role_headers: dict[Role, dict[str, str]], fmt: str
) -> None:
    agency = role_headers[Role.member_state]
    payloads = ["=1+1", "+1+1", "-1+1", "@SUM(A1)", '=HYPERLINK("http://x")', "\t=1", "\r=1"]
    observations = []
    for i, payload in enumerate(payloads):
        sex = ("F", "M", "_T")[i % 3]
        age = ("Y0T4", "Y5T11", "Y12T17")[i // 3]
        observations.append(
            obs(SEX=sex, AGE=age, OBS_VALUE=40 + i, COMMENT=payload, SOURCE=payload)
        )
    pushed = client.post(STATS, json={"observations": observations}, headers=agency)
    assert pushed.status_code == 200, pushed.text
    report = pushed.json()
    response = client.get(STATS, params={"format": fmt, "limit": 1000}, headers=agency)
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text, newline="")))
    assert rows, (report, response.text)
    seen = 0
    for row in rows:
        for column in ("COMMENT", "SOURCE"):
            cell = row.get(column) or ""
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)
            if cell:
                seen += 1
                assert cell.startswith("'"), cell
                # Stored as sent, or with the surrounding whitespace imports trim.
                assert cell[1:] in payloads or cell[1:] in {p.strip() for p in payloads}
    assert seen, response.text


# -- boundary integers in every integer parameter ------------------------------------------------

_SCHEMA = json.loads((ROOT / "openapi" / "v1.json").read_text())
_PATH_VALUES = {
    "flow": "RR_STATS",
    "key": "all",
    "providerRef": "all",
    "subscription_id": "00000000-0000-4000-8000-000000000000",
}
_BOUNDARY_INTEGERS = [-1, 0, 2**31, 2**63 - 1, 2**63, 10**30, -(10**30)]


def _integer_parameters() -> list[tuple[str, str, str]]:
    """(path, parameter, kind) for every GET query parameter that carries an integer: typed as
    one, or a cursor (an offset or a sequence number, encoded)."""
    found = []
    for path, operations in _SCHEMA["paths"].items():
        operation = operations.get("get")
        if operation is None:
            continue
        for parameter in operation.get("parameters", []):
            schema = parameter.get("schema", {})
            types = {schema.get("type")} | {a.get("type") for a in schema.get("anyOf", [])}
            if parameter["in"] != "query":
                continue
            if "integer" in types:
                found.append((path, parameter["name"], "integer"))
            elif parameter["name"] in ("cursor", "after"):
                found.append((path, parameter["name"], "cursor"))
    return found


def _cursor_values() -> list[str]:
    huge = [str(v) for v in _BOUNDARY_INTEGERS] + ["99999999999999999999"]
    encoded = [encode_cursor({"offset": v}) for v in _BOUNDARY_INTEGERS]
    return huge + encoded


def test_boundary_integers_in_every_integer_parameter_are_never_5xx(
    client: TestClient, role_headers: dict[Role, dict[str, str]]
) -> None:
    """Every integer a client sends is bounded before it reaches the database: a value past
    what the database holds (int64) is a 422 problem, never a 500. Every GET parameter of the
    committed OpenAPI document that carries an integer, as a caller the route admits."""
    parameters = _integer_parameters()
    assert len(parameters) >= 20
    for path, name, kind in parameters:
        allowed = ROUTE_POLICY[("GET", path)]
        role = Role.secretariat if Role.secretariat in allowed else sorted(allowed)[0]
        url = path.format(**_PATH_VALUES)
        values = [str(v) for v in _BOUNDARY_INTEGERS] if kind == "integer" else _cursor_values()
        operation = _SCHEMA["paths"][path]["get"]
        extra = {"q": "returned"} if any(p["name"] == "q" for p in operation["parameters"]) else {}
        for value in values:
            response = client.get(url, params={**extra, name: value}, headers=role_headers[role])
            assert response.status_code < 500, (path, name, value, response.text[:300])
            if response.status_code >= 400:
                assert_problem(response, response.status_code)
            if kind == "integer" and int(value) >= 2**63:
                assert_problem(response, 422)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/practices", {"q": "returned", "cursor": encode_cursor({"offset": 10**30})}),
        ("/v1/feeds/changes", {"after": "99999999999999999999"}),
        ("/v1/audit", {"cursor": "99999999999999999999"}),
        ("/v1/audit", {"after": "99999999999999999999"}),
    ],
)
def test_integers_past_the_database_range_are_422(
    client: TestClient,
    role_headers: dict[Role, dict[str, str]],
    path: str,
    params: dict[str, str],
) -> None:
    response = client.get(path, params=params, headers=role_headers[Role.secretariat])
    assert_problem(response, 422)
