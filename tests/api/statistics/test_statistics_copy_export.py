"""The CSV export made by the database (COPY on PostgreSQL, whole lines built by SQLite) is byte
for byte the one made row by row in Python, for every kind of caller, with withheld cells,
formula-like text, quotes and line breaks."""

from __future__ import annotations

import itertools
import random
from typing import Any

from fastapi.testclient import TestClient

from recnet.auth.principal import ANONYMOUS, Principal, Role
from recnet.db import Database, set_tenant
from recnet.formats import sdmx
from recnet.services import statistics
from recnet.services.statistics import CubeFilters
from tests.factories import bearer, client_for_role, get_token

URL = "/v1/statistics/observations"
TEXTS = [None, "", "plain", "=1+2", "+7", "-3", "@SUM(A1)", "\tx", 'say "hi"', "a,b", "two\nlines"]


def _observations(tenant: str, seed: int) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    rows = []
    for sex, age, period in itertools.product(
        ("F", "M"), ("Y0T4", "Y5T11", "Y18T59"), ("2019", "2020-Q1", "2020-03")
    ):
        rows.append(
            {
                "REF_AREA": tenant,
                "INDICATOR": "RETURNED",
                "SEX": sex,
                "AGE": age,
                "COUNTERPART_AREA": "SYR",
                "TIME_PERIOD": period,
                # Small counts too, so some cells are withheld (primary and secondary).
                "OBS_VALUE": rnd.choice([0, 1, 2, 5, 40, 130]),
                "COMMENT": rnd.choice(TEXTS),
                "SOURCE": rnd.choice(TEXTS),
            }
        )
    return rows


def _python_csv(database: Database, principal: Principal, filters: CubeFilters) -> bytes:
    with database.transaction(write=False) as session:
        set_tenant(session, principal.tenant)
        rows = session.execute(statistics.cube_query(filters))
        cells = statistics.published(principal, rows, filters)
        observations = (
            sdmx.Observation(
                c.key, c.value, c.obs_status, c.conf_status, c.unit, c.comment, c.source
            )
            for c in cells
        )
        return b"".join(sdmx.plain_csv(observations))


def _copy_csv(database: Database, principal: Principal, filters: CubeFilters) -> bytes:
    with database.transaction(write=False) as session:
        set_tenant(session, principal.tenant)
        assert statistics.copies_csv(filters)
        lines = statistics.csv_in_database(session, principal, filters)
        return b"".join(sdmx.csv_with_header(lines))


def test_the_database_made_export_equals_the_row_by_row_export(
    client: TestClient, database: Database
) -> None:
    for seed, tenant in enumerate(("UZB", "KAZ")):
        headers = bearer(get_token(client, client_for_role(database, Role.member_state, tenant)))
        response = client.post(
            URL, json={"observations": _observations(tenant, seed)}, headers=headers
        )
        assert response.status_code in (200, 201), response.text
    principals = [
        ANONYMOUS,
        Principal(role=Role.researcher, client_id="r", organisation="RES"),
        Principal(role=Role.secretariat, client_id="s", organisation="SEC"),
        Principal(role=Role.member_state, client_id="u", organisation="UZB", tenant="UZB"),
    ]
    selections = [
        CubeFilters(),
        CubeFilters(reported_only=False),
        CubeFilters(dimensions={"SEX": ["F"], "REF_AREA": ["KAZ"]}, start_period="2020"),
        CubeFilters(end_period="2019"),
    ]
    for principal, filters in itertools.product(principals, selections):
        expected = _python_csv(database, principal, filters)
        assert expected.count(b"\r\n") > 1, "the selection must not be empty"
        assert _copy_csv(database, principal, filters) == expected, (principal, filters)


def test_the_database_makes_the_export_only_where_it_is_exact() -> None:
    assert statistics.copies_csv(CubeFilters())
    assert statistics.copies_csv(CubeFilters(start_period="2020", end_period="2021"))
    assert not statistics.copies_csv(CubeFilters(start_period="2020-Q2"))
    assert not statistics.copies_csv(CubeFilters(end_period="2020-05"))


def test_the_exported_csv_over_http_is_the_same_on_both_paths(
    client: TestClient, database: Database
) -> None:
    """Through the route: whole years (COPY on PostgreSQL) and a quarter (row by row) agree on
    the rows they share."""
    headers = bearer(get_token(client, client_for_role(database, Role.member_state, "UZB")))
    posted = client.post(URL, json={"observations": _observations("UZB", 7)}, headers=headers)
    assert posted.status_code in (200, 201), posted.text
    whole = client.get(URL, params={"format": "csv", "start_period": "2020"})
    quarter = client.get(URL, params={"format": "csv", "start_period": "2020-01"})
    assert whole.status_code == quarter.status_code == 200
    assert whole.headers["content-type"].startswith("text/csv")
    assert whole.content.startswith(b"REF_AREA,INDICATOR,SEX,AGE,COUNTERPART_AREA,TIME_PERIOD,")
    assert whole.content == quarter.content  # 2020 begins in January: the same selection
