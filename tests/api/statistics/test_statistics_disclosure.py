"""Disclosure control across every read path, on random datasets (hypothesis).

Two member states report random, consistent figures (totals are the sums of their parts). Every
anonymous read path is collected: observations as JSON, CSV and SDMX-CSV, and aggregates along
several dimensions and frequencies. Then: no published cell is a small count; every path gives a
cell the same figure; and no relation (a total and its parts, the region and its states, a year
and its quarters) has exactly one withheld cell, so none can be recovered by subtraction.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from recnet.app import create_app
from recnet.auth.principal import Role
from recnet.db import Database
from tests.conftest import make_settings, owner_database
from tests.factories import bearer, client_for_role, get_token

DIMS = ("REF_AREA", "INDICATOR", "SEX", "AGE", "COUNTERPART_AREA", "TIME_PERIOD")
STATES = ("UZB", "KAZ")
SEXES = ("F", "M")
AGES = ("Y0T4", "Y5T11", "Y18T59")
QUARTERS = ("2020-Q1", "2020-Q2", "2020-Q3")
AGGREGATE_VIEWS = [
    {"by": "REF_AREA,TIME_PERIOD", "frequency": "A"},
    {"by": "REF_AREA,TIME_PERIOD", "frequency": "Q"},
    {"by": "SEX,TIME_PERIOD", "frequency": "Q"},
    {"by": "REF_AREA,SEX,AGE,TIME_PERIOD", "frequency": "A"},
    {"by": "REF_AREA,SEX,AGE,TIME_PERIOD", "frequency": "Q"},
]

# A value per (state, sex, age, quarter): the parts; the service's totals come from the states'.
datasets = st.fixed_dictionaries(
    {
        (state, sex, age, quarter): st.integers(min_value=0, max_value=14)
        for state, sex, age, quarter in itertools.product(STATES, SEXES, AGES, QUARTERS)
    }
)


def observations(state: str, parts: dict[tuple[str, ...], int]) -> list[dict[str, Any]]:
    """The state's parts with their totals along SEX and AGE, all consistent."""
    cells: dict[tuple[str, str, str], int] = defaultdict(int)
    for (s, sex, age, quarter), value in parts.items():
        if s != state:
            continue
        for sex_code, age_code in itertools.product((sex, "_T"), (age, "_T")):
            cells[(sex_code, age_code, quarter)] += value
    return [
        {
            "REF_AREA": state, "INDICATOR": "RETURNED", "SEX": sex, "AGE": age,
            "COUNTERPART_AREA": "SYR", "TIME_PERIOD": quarter, "OBS_VALUE": value,
        }
        for (sex, age, quarter), value in cells.items()
    ]  # fmt: skip


def key_of(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(row[d] for d in DIMS)


def collect(client: TestClient) -> dict[tuple[str, ...], set[tuple[int | None, str]]]:
    """Every anonymous read path, as key → the set of (value, CONF_STATUS) seen for it."""
    seen: dict[tuple[str, ...], set[tuple[int | None, str]]] = defaultdict(set)
    items = client.get("/v1/statistics/observations", params={"limit": 10_000}).json()["items"]
    for item in items:
        seen[key_of(item)].add((item["OBS_VALUE"], item["CONF_STATUS"]))
    for url, params in (
        ("/v1/statistics/observations", {"format": "csv"}),
        ("/v1/sdmx/data/RR_STATS/all", {"format": "sdmx-csv"}),
    ):
        for row in csv.DictReader(io.StringIO(client.get(url, params=params).text)):
            value = int(row["OBS_VALUE"]) if row["OBS_VALUE"] else None
            seen[key_of(row)].add((value, row["CONF_STATUS"]))
    for params in AGGREGATE_VIEWS:
        response = client.get("/v1/statistics/aggregates", params=params)
        assert response.status_code == 200, response.text
        for item in response.json()["items"]:
            seen[key_of(item)].add((item["OBS_VALUE"], item["CONF_STATUS"]))
    return seen


def relations(keys: set[tuple[str, ...]]) -> list[list[tuple[str, ...]]]:
    """Every 'total and its parts' among the published keys (total first), from the definitions."""
    found = []
    part_codes = {2: SEXES, 3: (*AGES, "Y12T17", "Y_GE60", "_U"), 0: STATES}
    for key in keys:
        for position, codes in part_codes.items():
            total_code = "CAS" if position == 0 else "_T"
            if key[position] != total_code:
                continue
            parts = [k for c in codes if (k := (*key[:position], c, *key[position + 1 :])) in keys]
            if parts:
                found.append([key, *parts])
        if len(key[5]) == 4:  # a year and its quarters
            quarters = [k for q in range(1, 5) if (k := (*key[:5], f"{key[5]}-Q{q}")) in keys]
            if quarters:
                found.append([key, *quarters])
    return found


@pytest.fixture
def open_client(database: Database) -> Iterator[TestClient]:
    """A client of an app whose rate limits do not get in the way of many examples."""
    settings = make_settings(
        database.settings.database_url, rate_anonymous=10**9, rate_client=10**9
    )
    with TestClient(create_app(settings, database)) as http:
        yield http


@pytest.fixture
def agencies(open_client: TestClient, database: Database) -> dict[str, dict[str, str]]:
    return {
        state: bearer(get_token(open_client, client_for_role(database, Role.member_state, state)))
        for state in STATES
    }


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(parts=datasets)
def test_no_path_reveals_a_small_count(
    open_client: TestClient,
    agencies: dict[str, dict[str, str]],
    database: Database,
    parts: dict[tuple[str, ...], int],
) -> None:
    client = open_client
    with owner_database(database.settings.database_url).transaction() as session:
        session.execute(text("DELETE FROM statistics_cube"))
        session.execute(text("DELETE FROM statistics_cube_history"))
        session.execute(text("DELETE FROM observations"))
    for state in STATES:
        pushed = client.post(
            "/v1/statistics/observations",
            json={"observations": observations(state, parts)},
            headers=agencies[state],
        )
        assert pushed.status_code == 200, pushed.text

    threshold = database.settings.min_cell
    seen = collect(client)
    assert seen
    for key, answers in seen.items():
        assert len(answers) == 1, f"{key} differs between paths: {answers}"
        [(value, conf)] = answers
        if value is None:
            assert conf == "C", key  # one status: primary and secondary look alike
        else:
            assert conf == "F", key
            assert not 1 <= value < threshold, f"{key} publishes a small count {value}"
    withheld = {key for key, answers in seen.items() if next(iter(answers))[0] is None}
    for relation in relations(set(seen)):
        count = sum(k in withheld for k in relation)
        assert count != 1, f"derivable by subtraction: {relation}"
