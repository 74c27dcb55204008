"""Aggregate statistics: structure, imports and their reports, disclosure control, queries."""

from __future__ import annotations

import base64
import csv
import io
import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from recnet.auth.principal import Role
from recnet.db import Database
from recnet.models import Event, Observation
from tests.conftest import owner_database
from tests.factories import bearer, client_for_role, get_token

URL = "/v1/statistics/observations"
HEADER = "REF_AREA,INDICATOR,SEX,AGE,COUNTERPART_AREA,TIME_PERIOD,OBS_VALUE"


def obs(value: int = 42, **dims: Any) -> dict[str, Any]:
    return {
        "REF_AREA": "UZB",
        "INDICATOR": "RETURNED",
        "SEX": "F",
        "AGE": "Y0T4",
        "COUNTERPART_AREA": "SYR",
        "TIME_PERIOD": "2019-Q2",
        "OBS_VALUE": value,
        **dims,
    }


@pytest.fixture
def agency(client: TestClient, database: Database) -> dict[str, str]:
    return bearer(get_token(client, client_for_role(database, Role.member_state, "UZB")))


@pytest.fixture
def push(client: TestClient, agency: dict[str, str]) -> Callable[..., Any]:
    def run(observations: list[dict[str, Any]], **params: Any) -> Any:
        return client.post(URL, json={"observations": observations}, params=params, headers=agency)

    return run


def stored(database: Database) -> dict[tuple[str, ...], int]:
    with owner_database(database.settings.database_url).transaction(write=False) as session:
        rows = session.execute(select(Observation)).scalars().all()
        return {
            (o.ref_area, o.indicator, o.sex, o.age, o.counterpart_area, o.time_period): o.obs_value
            for o in rows
        }


def event_count(database: Database) -> int:
    with owner_database(database.settings.database_url).transaction(write=False) as session:
        return int(session.execute(select(func.count()).select_from(Event)).scalar_one())


def published(client: TestClient, headers: dict[str, str] | None = None, **params: Any) -> dict:
    response = client.get(URL, params={"limit": 10_000, **params}, headers=headers or {})
    assert response.status_code == 200, response.text
    return {
        tuple(
            i[d] for d in ("REF_AREA", "INDICATOR", "SEX", "AGE", "COUNTERPART_AREA", "TIME_PERIOD")
        ): (
            i["OBS_VALUE"],
            i["CONF_STATUS"],
        )
        for i in response.json()["items"]
    }


# ------------------------------------------------------------------ structure


def test_structure_publishes_dimensions_and_codelists(client: TestClient) -> None:
    structure = client.get("/v1/statistics/structure").json()
    assert [d["id"] for d in structure["dimensions"]] == [
        "REF_AREA", "INDICATOR", "SEX", "AGE", "COUNTERPART_AREA", "TIME_PERIOD",
    ]  # fmt: skip
    assert structure["measure"]["id"] == "OBS_VALUE"
    assert {a["id"] for a in structure["attributes"]} >= {
        "OBS_STATUS",
        "UNIT_MEASURE",
        "SOURCE",
        "COMMENT",
    }
    codelists = {c["id"]: c for c in structure["codelists"]}
    for codelist in codelists.values():
        for code in codelist["codes"]:
            assert code["names"]["en"]
            assert code["names"]["ru"]
    indicators = {c["id"]: c for c in codelists["CL_INDICATOR"]["codes"]}
    assert set(indicators) >= {"RETURNED", "IN_REHABILITATION", "ENROLLED_EDUCATION", "AMNESTIED"}
    assert indicators["RETURNED"]["unit"] == "PS"
    assert indicators["RETURNED"]["counts"]["en"]
    assert [c["id"] for c in codelists["CL_AGE"]["codes"]] == [
        "Y0T4", "Y5T11", "Y12T17", "Y18T59", "Y_GE60", "_U", "_T",
    ]  # fmt: skip


# ------------------------------------------------------------------ imports


def test_json_import_writes_reports_and_logs_one_event(push, database: Database) -> None:
    response = push([obs(42), obs(7, SEX="M"), obs(49, SEX="_T", TIME_PERIOD="2019Q2")])
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["status"] == "OK"
    assert report["counts"] == {
        "received": 3,
        "imported": 3,
        "updated": 0,
        "ignored": 0,
        "deleted": 0,
    }
    assert report["conflicts"] == []
    assert stored(database)[("UZB", "RETURNED", "_T", "Y0T4", "SYR", "2019-Q2")] == 49, (
        "period normalised"
    )
    with owner_database(database.settings.database_url).transaction(write=False) as session:
        event = session.execute(select(Event).where(Event.seq == report["event"])).scalar_one()
    assert event.action == "statistics_imported"
    assert event.tenant == "UZB"
    assert event.payload["counts"]["imported"] == 3
    assert len(event.payload["changes"]) == 3


def test_unchanged_values_are_ignored_and_changes_are_updates(push, database: Database) -> None:
    push([obs(42), obs(7, SEX="M")])
    events_before = event_count(database)
    again = push([obs(42), obs(7, SEX="M")]).json()
    assert again["counts"]["ignored"] == 2
    assert again["counts"]["imported"] == again["counts"]["updated"] == 0
    assert event_count(database) == events_before, "nothing changed, nothing logged"
    changed = push([obs(43), obs(7, SEX="M")]).json()
    assert (changed["counts"]["updated"], changed["counts"]["ignored"]) == (1, 1)


def test_csv_with_errors_is_refused_whole_and_lists_them_by_line(
    client: TestClient, agency: dict[str, str], database: Database
) -> None:
    body = "\n".join(
        [
            HEADER,
            "UZB,RETURNED,F,Y0T4,SYR,2019-Q2,42",  # line 2: fine
            "UZB,RETURNED,X,Y0T4,SYR,2019-Q2,5",  # line 3: bad SEX
            "UZB,RETURNED,M,Y0T4,SYR,2019-Q5,5",  # line 4: bad period
            "UZB,RETURNED,M,Y0T4,IRQ,2019-Q2,-1",  # line 5: negative
            "KAZ,RETURNED,M,Y0T4,SYR,2019-Q2,5",  # line 6: another state's figure
            "UZB,RETURNED,F,Y0T4,SYR,2019Q2,42",  # line 7: duplicate of line 2
            "UZB,RETURNED,M,Y0T4,AFG,2019-Q2,4.5",  # line 8: not a whole number
            "UZB,RETURNED,M,Y0T4,TUR,\u0662\u0660\u0661\u0669-Q2,5",  # line 9: digits not ASCII
        ]
    )
    response = client.post(URL, content=body, headers={**agency, "Content-Type": "text/csv"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    report = response.json()["report"]
    assert report["status"] == "ERROR"
    assert report["numbering"] == "line"
    found = {(c["code"], c["column"]): c["rows"] for c in report["conflicts"]}
    assert found == {
        ("INVALID_CODE", "SEX"): [3],
        ("INVALID_PERIOD", "TIME_PERIOD"): [4, 9],
        ("INVALID_VALUE", "OBS_VALUE"): [5, 8],
        ("FOREIGN_REF_AREA", "REF_AREA"): [6],
        ("DUPLICATE_KEY", None): [7],
    }
    assert all(c["message"] for c in report["conflicts"])
    assert stored(database) == {}, "atomic: nothing written"


def test_non_atomic_import_writes_the_valid_rows(push, database: Database) -> None:
    response = push([obs(42), obs(5, SEX="bogus"), obs(6, SEX="M")], atomic="false")
    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "WARNING"
    assert report["counts"]["imported"] == 2
    assert [c["rows"] for c in report["conflicts"]] == [[2]]
    assert len(stored(database)) == 2


def test_dry_run_validates_and_writes_nothing(push, database: Database) -> None:
    report = push([obs(42), obs(7, SEX="M")], dry_run="true").json()
    assert report["status"] == "OK"
    assert report["dry_run"] is True
    assert report["counts"]["imported"] == 2
    assert report["event"] is None
    assert stored(database) == {}
    assert event_count(database) == 0


def test_each_strategy(push, database: Database) -> None:
    push([obs(42), obs(7, SEX="M")])
    create = push([obs(43), obs(90, SEX="_T")], strategy="create")
    assert create.status_code == 422
    assert [c["code"] for c in create.json()["report"]["conflicts"]] == ["ALREADY_EXISTS"]
    update = push([obs(44), obs(1, AGE="Y5T11")], strategy="update")
    assert [c["code"] for c in update.json()["report"]["conflicts"]] == ["NOT_FOUND"]
    assert push([obs(44)], strategy="update").json()["counts"]["updated"] == 1
    deleted = push([obs(0, SEX="M"), obs(0, SEX="_T")], strategy="delete").json()
    assert deleted["counts"]["deleted"] == 1
    assert deleted["status"] == "WARNING", "deleting what is not there is reported"
    assert stored(database) == {("UZB", "RETURNED", "F", "Y0T4", "SYR", "2019-Q2"): 44}


def test_totals_and_parts_are_checked(push) -> None:
    too_big = push([obs(50, SEX="F"), obs(10, SEX="M"), obs(40, SEX="_T")])
    assert too_big.status_code == 422
    conflicts = {c["code"]: c for c in too_big.json()["report"]["conflicts"]}
    assert conflicts["PART_EXCEEDS_TOTAL"]["rows"] == [1]
    assert conflicts["PART_EXCEEDS_TOTAL"]["severity"] == "error"
    not_adding_up = push([obs(20, SEX="F"), obs(10, SEX="M"), obs(40, SEX="_T")])
    assert not_adding_up.status_code == 200
    report = not_adding_up.json()
    assert report["status"] == "WARNING"
    assert [(c["code"], c["severity"], c["rows"]) for c in report["conflicts"]] == [
        ("PARTS_DO_NOT_ADD_UP", "warning", [3])
    ]


def test_repeated_identical_errors_are_grouped(push) -> None:
    rows = [obs(1, SEX="Q", TIME_PERIOD=f"{2000 + i // 12}-{i % 12 + 1:02d}") for i in range(1000)]
    report = push(rows).json()["report"]
    [conflict] = report["conflicts"]
    assert conflict["count"] == 1000
    assert len(conflict["rows"]) == 100
    assert conflict["rows"][:3] == [1, 2, 3]


def test_malformed_bodies_are_refused_clearly(client: TestClient, agency: dict[str, str]) -> None:
    bad = [
        ({"Content-Type": "application/json"}, b"{not json"),
        ({"Content-Type": "application/json"}, b'{"observations": 5}'),
        ({"Content-Type": "application/json"}, b'{"observations": [], "extra": 1}'),
        ({"Content-Type": "text/csv"}, b"REF_AREA,WHAT\nUZB,1"),
        ({"Content-Type": "text/csv"}, b"\xff\xfe\x00bad"),
        ({"Content-Type": "application/json"}, b"[" * 100_000 + b"]" * 100_000),
    ]
    for headers, body in bad:
        response = client.post(URL, content=body, headers={**agency, **headers})
        assert response.status_code == 422, body[:40]
        assert response.headers["content-type"] == "application/problem+json"
    xml = client.post(URL, content=b"<x/>", headers={**agency, "Content-Type": "application/xml"})
    assert xml.status_code == 415


def test_only_member_states_import(client: TestClient, role_headers) -> None:
    for role in (Role.anonymous, Role.researcher, Role.partner, Role.secretariat):
        response = client.post(URL, json={"observations": [obs()]}, headers=role_headers[role])
        assert response.status_code in (401, 403)


def test_a_retried_import_with_an_idempotency_key_is_applied_once(
    client: TestClient, agency: dict[str, str], database: Database
) -> None:
    headers = {**agency, "Idempotency-Key": "stats-2019-q2"}
    first = client.post(URL, json={"observations": [obs(42)]}, headers=headers)
    retry = client.post(URL, json={"observations": [obs(42)]}, headers=headers)
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert event_count(database) == 1


@pytest.mark.slow
def test_a_large_import(client: TestClient, agency: dict[str, str], database: Database) -> None:
    """100,000 observations in one CSV request."""
    combos = itertools.product(
        ["RETURNED", "IN_REHABILITATION", "DOCUMENTS_ISSUED", "ENROLLED_EDUCATION"],
        ["F", "M"],
        ["Y0T4", "Y5T11", "Y12T17", "Y18T59", "Y_GE60"],
        ["SYR", "IRQ", "AFG", "TUR", "_O"],
        [f"{year}-{month:02d}" for year in range(1900, 2025) for month in range(1, 13)],
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER.split(","))
    for index, (indicator, sex, age, country, period) in enumerate(
        itertools.islice(combos, 100_000)
    ):
        writer.writerow(["UZB", indicator, sex, age, country, period, index % 97])
    response = client.post(
        URL, content=buffer.getvalue().encode(), headers={**agency, "Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text[:500]
    assert response.json()["counts"]["imported"] == 100_000
    with owner_database(database.settings.database_url).transaction(write=False) as session:
        assert (
            session.execute(select(func.count()).select_from(Observation)).scalar_one() == 100_000
        )


# ------------------------------------------------------------------ disclosure control


def test_small_counts_are_withheld_below_member_state_level(
    client: TestClient, push, role_headers, database: Database
) -> None:
    push([obs(3, SEX="F"), obs(40, SEX="M"), obs(43, SEX="_T")])
    key = ("UZB", "RETURNED", "{}", "Y0T4", "SYR", "2019-Q2")
    exact = {"F": (3, "F"), "M": (40, "F"), "_T": (43, "F")}
    other_state = bearer(get_token(client, client_for_role(database, Role.member_state, "KAZ")))
    for headers in (role_headers[Role.anonymous], role_headers[Role.researcher],
                    role_headers[Role.partner], other_state):  # fmt: skip
        seen = published(client, headers)
        f = seen[tuple(part.format("F") for part in key)]
        m = seen[tuple(part.format("M") for part in key)]
        total = seen[tuple(part.format("_T") for part in key)]
        assert f == (None, "C"), "3 persons: too few to publish"
        assert (m, total).count((None, "C")) == 1, (
            "a second cell is withheld so F cannot be derived"
        )
    for headers in (role_headers[Role.member_state], role_headers[Role.secretariat]):
        seen = published(client, headers)
        assert {k[2]: v for k, v in seen.items()} == exact


def test_every_format_gives_the_same_protected_figures(client: TestClient, push) -> None:
    import sdmx

    push([obs(3, SEX="F"), obs(40, SEX="M"), obs(43, SEX="_T"), obs(12, SEX="F", AGE="Y5T11")])
    as_json = published(client)
    as_csv = list(csv.DictReader(io.StringIO(client.get(URL, params={"format": "csv"}).text)))
    assert {
        tuple(
            r[d] for d in ("REF_AREA", "INDICATOR", "SEX", "AGE", "COUNTERPART_AREA", "TIME_PERIOD")
        ): (
            int(r["OBS_VALUE"]) if r["OBS_VALUE"] else None,
            r["CONF_STATUS"],
        )
        for r in as_csv
    } == as_json
    for form in ("AllDimensions", "TIME_PERIOD"):
        response = client.get(
            "/v1/sdmx/data/RR_STATS/UZB.RETURNED....",
            params={"dimensionAtObservation": form},
            headers={"Accept": "application/vnd.sdmx.data+json;version=1.0.0"},
        )
        assert response.headers["content-type"] == "application/vnd.sdmx.data+json;version=1.0.0"
        message = sdmx.read_sdmx(io.BytesIO(response.content), format="JSON")
        series = sdmx.to_pandas(message.data[0])
        values = {tuple(index): value for index, value in series.items()}
        for key, (value, _conf) in as_json.items():
            got = values[key]
            assert (got != got and value is None) or got == value, (key, got, value)
    sdmx_csv = client.get("/v1/sdmx/data/RR_STATS/all", params={"format": "sdmx-csv"})
    rows = list(csv.DictReader(io.StringIO(sdmx_csv.text)))
    assert {(r["SEX"], r["AGE"], r["OBS_VALUE"], r["CONF_STATUS"]) for r in rows} == {
        (k[2], k[3], "" if v is None else str(v), c) for k, (v, c) in as_json.items()
    }


def test_observations_negotiate_sdmx_versions_by_accept(client: TestClient, push) -> None:
    """The observations route gives SDMX-JSON 1.0 and SDMX-CSV 2.0: an Accept naming another
    version is 406, never the wrong one with 200."""
    push([obs(3, SEX="F"), obs(40, SEX="M")])
    for accept, media in (
        ("application/vnd.sdmx.data+json", "application/vnd.sdmx.data+json;version=1.0.0"),
        ("application/vnd.sdmx.data+json; version=1.0.0", "application/vnd.sdmx.data+json"),
        ("application/vnd.sdmx.data+csv;version=2.0.0", "application/vnd.sdmx.data+csv"),
        ("application/vnd.sdmx.data+csv", "application/vnd.sdmx.data+csv;version=2.0.0"),
    ):
        response = client.get(URL, headers={"Accept": accept})
        assert response.status_code == 200, (accept, response.text)
        assert response.headers["content-type"].startswith(media), accept
    for accept in (
        "application/vnd.sdmx.data+json;version=2.0.0",
        'application/vnd.sdmx.data+csv; version="1.0.0"',
        "text/html, application/vnd.sdmx.data+json;charset=utf-8;version=2.0",
    ):
        response = client.get(URL, headers={"Accept": accept})
        assert response.status_code == 406, (accept, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "/v1/sdmx/data/RR_STATS" in response.json()["detail"]


# ------------------------------------------------------------------ queries


def test_filters_periods_and_paging(client: TestClient, push) -> None:
    rows = [
        obs(10 + i, SEX=sex, AGE=age, TIME_PERIOD=period)
        for i, (sex, age, period) in enumerate(
            itertools.product(
                ["F", "M"], ["Y0T4", "Y5T11"], ["2019-Q1", "2019-Q2", "2020-03", "2021"]
            )
        )
    ]
    assert push(rows).status_code == 200
    owner_view = client.get(URL, params={"sex": "F", "age": "Y0T4+Y5T11"}).json()["items"]
    assert {(i["SEX"], i["AGE"]) for i in owner_view} == {("F", "Y0T4"), ("F", "Y5T11")}
    in_2019 = client.get(URL, params={"start_period": "2019", "end_period": "2019"}).json()["items"]
    assert {i["TIME_PERIOD"] for i in in_2019} == {"2019-Q1", "2019-Q2"}
    from_q2 = client.get(URL, params={"start_period": "2019-Q2", "end_period": "2020-Q1"}).json()[
        "items"
    ]
    assert {i["TIME_PERIOD"] for i in from_q2} == {"2019-Q2", "2020-03"}
    assert client.get(URL, params={"start_period": "2019-Q9"}).status_code == 422

    seen, cursor = [], None
    while True:
        page = client.get(URL, params={"limit": 5, **({"cursor": cursor} if cursor else {})}).json()
        seen.extend((i["SEX"], i["AGE"], i["TIME_PERIOD"]) for i in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == len(rows)
    assert client.get(URL, params={"cursor": "nope"}).status_code == 422
    # A cursor in the form given out before the one cursor codec (JSON with spaces) still works.
    first = client.get(URL, params={"limit": 5}).json()
    key = json.loads(base64.urlsafe_b64decode(first["next_cursor"] + "=="))
    held = base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")
    resumed = client.get(URL, params={"limit": 5, "cursor": held})
    assert resumed.status_code == 200
    again = client.get(URL, params={"limit": 5, "cursor": first["next_cursor"]}).json()
    assert resumed.json()["items"] == again["items"]


def test_aggregates_use_totals_and_roll_up_to_years(client: TestClient, push, role_headers) -> None:
    # Quarters of 2019 by sex; no totals reported: the service derives them from the parts.
    rows = [
        obs(value, SEX=sex, AGE="_T", COUNTERPART_AREA="_T", TIME_PERIOD=period)
        for (sex, period), value in zip(
            itertools.product(["F", "M"], ["2019-Q1", "2019-Q2", "2019-Q3", "2019-Q4"]),
            [10, 20, 30, 40, 5, 6, 7, 8],
            strict=True,
        )
    ]
    push(rows)
    headers = role_headers[Role.secretariat]
    by_area = client.get(
        "/v1/statistics/aggregates", params={"by": "REF_AREA,TIME_PERIOD"}, headers=headers
    ).json()["items"]
    # The member states only: the regional total CAS is given when asked (ref_area=CAS).
    assert {(i["REF_AREA"], i["TIME_PERIOD"], i["OBS_VALUE"]) for i in by_area} == {
        ("UZB", "2019", 126),
    }
    by_sex = client.get(
        "/v1/statistics/aggregates",
        params={"by": "SEX,TIME_PERIOD,REF_AREA", "frequency": "Q"},
        headers=headers,
    ).json()["items"]
    uzb = {(i["SEX"], i["TIME_PERIOD"]): i["OBS_VALUE"] for i in by_sex if i["REF_AREA"] == "UZB"}
    assert uzb[("F", "2019-Q2")] == 20
    assert uzb[("_T", "2019-Q2")] == 26
    assert client.get("/v1/statistics/aggregates", params={"by": "COLOUR"}).status_code == 422


def test_sdmx_rest_keys(client: TestClient, push) -> None:
    push([obs(42), obs(43, SEX="M"), obs(44, INDICATOR="EMPLOYED")])

    def count(key: str) -> int:
        response = client.get(f"/v1/sdmx/data/RR_STATS/{key}", params={"format": "sdmx-csv"})
        assert response.status_code == 200, response.text
        return len(list(csv.DictReader(io.StringIO(response.text))))

    assert count("all") == 3
    assert count("UZB.RETURNED....") == 2
    assert count("UZB+KAZ.RETURNED+EMPLOYED.M...") == 1
    assert count("UZB.....2019-Q2") == 3
    assert client.get("/v1/sdmx/data/OTHER_FLOW/all").status_code == 404
    assert client.get("/v1/sdmx/data/RR_STATS/UZB.RETURNED").status_code == 422
