"""Statistics releases: an import republishes only the partitions (indicator × year) it touched,
and in them only the cells that changed; the values it changed or removed go to the history; the
cube always equals what the observations give; and `recnet statistics audit` proves disclosure
control over every release."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from typer.testing import CliRunner

from recnet.auth.principal import Role
from recnet.cli import app as cli
from recnet.config import get_settings
from recnet.db import Database
from recnet.models import CubeCell, CubeHistory, Observation
from recnet.services.statistics.cube import _cube_cells, rebuild_cube
from tests.conftest import owner_database
from tests.factories import bearer, client_for_role, get_token

URL = "/v1/statistics/observations"
Key = tuple[str, str, str, str, str, str]


def obs(value: int, state: str = "UZB", **dims: Any) -> dict[str, Any]:
    return {
        "REF_AREA": state,
        "INDICATOR": "RETURNED",
        "SEX": "F",
        "AGE": "Y0T4",
        "COUNTERPART_AREA": "SYR",
        "TIME_PERIOD": "2019-Q2",
        "OBS_VALUE": value,
        **dims,
    }


def key(state: str = "UZB", **dims: str) -> Key:
    row = obs(0, state, **dims)
    return tuple(row[d] for d in ("REF_AREA", "INDICATOR", "SEX", "AGE", "COUNTERPART_AREA",
                                  "TIME_PERIOD"))  # type: ignore[return-value]  # fmt: skip


@pytest.fixture
def push(client: TestClient, database: Database) -> Callable[..., dict[str, Any]]:
    """Imports observations as the agency of their state; returns the import report."""
    tokens: dict[str, dict[str, str]] = {}

    def run(observations: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
        state = observations[0]["REF_AREA"]
        if state not in tokens:
            credentials = client_for_role(database, Role.member_state, state)
            tokens[state] = bearer(get_token(client, credentials))
        response = client.post(
            URL, json={"observations": observations}, params=params, headers=tokens[state]
        )
        assert response.status_code == 200, response.text
        report: dict[str, Any] = response.json()
        return report

    return run


def cube(database: Database) -> dict[Key, CubeCell]:
    with owner_database(database.settings.database_url).transaction(write=False) as session:
        return {
            (c.ref_area, c.indicator, c.sex, c.age, c.counterpart_area, c.time_period): c
            for c in session.execute(select(CubeCell)).scalars()
        }


def history(database: Database) -> dict[tuple[Key, int], CubeHistory]:
    with owner_database(database.settings.database_url).transaction(write=False) as session:
        return {
            ((h.ref_area, h.indicator, h.sex, h.age, h.counterpart_area, h.time_period), h.since): h
            for h in session.execute(select(CubeHistory)).scalars()
        }


def observed(database: Database) -> dict[Key, int]:
    with owner_database(database.settings.database_url).transaction(write=False) as session:
        return {
            (o.ref_area, o.indicator, o.sex, o.age, o.counterpart_area, o.time_period): o.obs_value
            for o in session.execute(select(Observation)).scalars()
        }


def columns(cell: CubeCell) -> dict[str, Any]:
    return cell.model_dump()


# ------------------------------------------------------------------ what an import rewrites


def test_an_import_rewrites_only_the_partitions_it_touches(push, database: Database) -> None:
    push(
        [obs(12), obs(30, SEX="M"), obs(3, AGE="Y5T11"), obs(25, TIME_PERIOD="2020-Q1")]
        + [obs(40, SEX="M", TIME_PERIOD="2020-Q3")]
    )
    before = cube(database)
    assert {k[5][:4] for k in before} == {"2019", "2020"}

    push([obs(26, TIME_PERIOD="2020-Q1")])
    after = cube(database)
    assert set(after) == set(before)
    for cell_key, cell in before.items():
        if cell_key[5].startswith("2019"):
            assert columns(after[cell_key]) == columns(cell), f"{cell_key} was rewritten"
    assert any(
        after[k].updated_at != before[k].updated_at for k in before if k[5].startswith("2020")
    )

    report = push([obs(26, TIME_PERIOD="2020-Q1")])
    assert report["counts"]["ignored"] == 1
    assert {k: columns(c) for k, c in cube(database).items()} == {
        k: columns(c) for k, c in after.items()
    }


@pytest.mark.slow
def test_a_rebuild_with_nothing_new_writes_nothing(push, database: Database) -> None:
    push([obs(12), obs(3, SEX="M"), obs(2, SEX="M", AGE="Y5T11"), obs(40, TIME_PERIOD="2019-Q3")])
    push([obs(7, "KAZ"), obs(1, "KAZ", SEX="M")])
    before = {k: columns(c) for k, c in cube(database).items()}
    versions = history(database)
    with owner_database(database.settings.database_url).transaction() as session:
        rebuild_cube(session, [("RETURNED", "2019")], database.settings.min_cell)
    assert {k: columns(c) for k, c in cube(database).items()} == before
    assert history(database).keys() == versions.keys()


# ------------------------------------------------------------------ versions


def test_a_changed_cell_ends_its_version_and_those_of_its_totals(push, database: Database) -> None:
    push([obs(10), obs(20, SEX="M"), obs(30, SEX="M", AGE="Y5T11")])
    exact_before = observed(database)
    before = cube(database)
    assert {c.since for c in before.values()} == {1}
    assert all(c.conf_status == "F" for c in before.values()), "no small count: all published"

    push([obs(12)])
    exact_after = _cube_cells(observed(database))
    changed = {k for k, v in _cube_cells(exact_before).items() if exact_after[k] != v}
    assert {key(), key(SEX="_T"), key("CAS"), key(TIME_PERIOD="2019")} <= changed
    assert key(SEX="M") not in changed
    assert key(SEX="M", AGE="Y5T11", TIME_PERIOD="2019") not in changed

    ended = history(database)
    assert {
        cell_key: (since, h.until, h.exact_value, h.withheld)
        for (cell_key, since), h in ended.items()
    } == {k: (1, 2, before[k].exact_value, False) for k in changed}
    after = cube(database)
    assert {k for k, c in after.items() if c.since == 2} == changed
    assert {k for k, c in after.items() if c.updated_at != before[k].updated_at} == changed
    assert after[key()].exact_value == 12

    push([obs(13)])
    assert {since for _, since in history(database)} == {1, 2}, "release 2 ends in release 3"
    assert cube(database)[key()].since == 3


def test_a_removed_cell_ends_its_version_and_a_new_one_begins_later(
    push, database: Database
) -> None:
    push([obs(10), obs(20, SEX="M")])
    push([obs(10)], strategy="delete")
    assert key() not in cube(database)
    assert history(database)[(key(), 1)].until == 2
    push([obs(10)])
    assert cube(database)[key()].since == 3, "release 2 removed it; release 3 brings it back"


# ------------------------------------------------------------------ the cube and the observations


def test_the_cube_equals_what_the_observations_give_after_any_imports(
    client: TestClient, push, database: Database
) -> None:
    steps: list[tuple[list[dict[str, Any]], dict[str, str]]] = [
        ([obs(12), obs(3, SEX="M"), obs(9, AGE="Y5T11"), obs(40, TIME_PERIOD="2020-Q1")], {}),
        ([obs(7, "KAZ"), obs(2, "KAZ", SEX="M"), obs(11, "KAZ", TIME_PERIOD="2020-03")], {}),
        ([obs(4), obs(0, SEX="M", AGE="Y5T11")], {}),
        ([obs(9, AGE="Y5T11")], {"strategy": "delete"}),
        ([obs(6, TIME_PERIOD="2019-05"), obs(15, SEX="_T", TIME_PERIOD="2019-Q2")], {}),
        ([obs(11, "KAZ", TIME_PERIOD="2020-03")], {"strategy": "delete"}),
        ([obs(1, "KAZ", SEX="M"), obs(2, "KAZ", SEX="M", TIME_PERIOD="2019-Q3")], {}),
    ]
    uzb = bearer(get_token(client, client_for_role(database, Role.member_state, "UZB")))
    threshold = database.settings.min_cell
    for observations, params in steps:
        push(observations, **params)
        exact = observed(database)
        cells = cube(database)
        assert {k: c.exact_value for k, c in cells.items()} == _cube_cells(exact)
        assert {k for k, c in cells.items() if c.derived} == set(cells) - set(exact)
        for cell_key, cell in cells.items():
            assert cell.conf_status in ("F", "C"), cell_key
            shown = cell.exact_value if cell.conf_status == "F" else None
            assert cell.published_value == shown, cell_key
            assert cell.conf_status == "C" or not 1 <= cell.exact_value < threshold, cell_key
        for (cell_key, since), h in history(database).items():
            assert since < h.until, cell_key
            if cell_key in cells:
                assert cells[cell_key].since >= h.until, "a version begins after the last ends"

        seen = {
            tuple(i[d] for d in ("REF_AREA", "INDICATOR", "SEX", "AGE", "COUNTERPART_AREA",
                                 "TIME_PERIOD")): (i["OBS_VALUE"], i["CONF_STATUS"])
            for i in client.get(URL, params={"limit": 10_000}).json()["items"]
        }  # fmt: skip
        assert set(seen) == set(exact), "readers are given every reported cell"
        for cell_key, (value, conf) in seen.items():
            assert (value, conf) in ((exact[cell_key], "F"), (None, "C")), cell_key
            assert (value is None) == (cells[cell_key].conf_status == "C"), cell_key
        owner = client.get(URL, params={"limit": 10_000}, headers=uzb).json()["items"]
        for item in owner:
            item_key = tuple(
                item[d] for d in ("REF_AREA", "INDICATOR", "SEX", "AGE", "COUNTERPART_AREA",
                                  "TIME_PERIOD")
            )  # fmt: skip
            if item["REF_AREA"] == "UZB":
                assert (item["OBS_VALUE"], item["CONF_STATUS"]) == (exact[item_key], "F")


# ------------------------------------------------------------------ the audit


@pytest.fixture
def recnet(database: Database, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Runs `recnet ...` in-process against the test database; returns (exit code, output)."""
    monkeypatch.setenv("RECNET_DATABASE_URL", db_url)
    get_settings.cache_clear()

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, list(args))
        return result.exit_code, result.output

    yield run
    get_settings.cache_clear()


def test_the_audit_passes_on_an_import_and_names_a_cell_published_by_hand(
    push, recnet, database: Database
) -> None:
    push([obs(3), obs(40, SEX="M"), obs(43, SEX="_T"), obs(50, TIME_PERIOD="2020")])
    cells = cube(database)
    withheld = sum(c.conf_status == "C" for k, c in cells.items() if k[5].startswith("2019"))
    in_2019 = sum(k[5].startswith("2019") for k in cells)
    code, output = recnet("statistics", "audit")
    assert code == 0, output
    assert f"RETURNED 2019: {in_2019} cells, {withheld} withheld, 0 failures" in output
    assert "RETURNED 2020: " in output

    with owner_database(database.settings.database_url).transaction() as session:
        session.execute(
            text(
                "UPDATE statistics_cube SET published_value = exact_value, conf_status = 'F' "
                "WHERE ref_area = 'UZB' AND sex = 'F' AND age = 'Y0T4' "
                "AND counterpart_area = 'SYR' AND time_period = '2019-Q2'"
            )
        )
    code, output = recnet("statistics", "audit")
    assert code == 1, output
    assert "UZB.RETURNED.F.Y0T4.SYR.2019-Q2" in output
    code, output = recnet("statistics", "audit", "--year", "2020")
    assert code == 0, output
    assert "2019" not in output
    code, output = recnet("statistics", "audit", "--indicator", "EMPLOYED")
    assert (code, output) == (0, "")


def test_an_import_whose_release_the_audit_fails_is_refused_whole(
    client: TestClient, push, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """A release the engine cannot protect is never published: the import is refused with 409,
    nothing is written, the answer names no cell or figure, and the log names them. Here the
    cube is first altered by hand (M published beside the reported total tells F = 43 - 40, a
    past version no new release can hide); the import that changes F and the total is refused."""
    push([obs(3), obs(40, SEX="M"), obs(43, SEX="_T")])
    with owner_database(database.settings.database_url).transaction() as session:
        session.execute(
            text(
                "UPDATE statistics_cube SET published_value = exact_value, conf_status = 'F' "
                "WHERE ref_area = 'UZB' AND sex = 'M' AND age = 'Y0T4' "
                "AND counterpart_area = 'SYR' AND time_period = '2019-Q2'"
            )
        )
    before = (observed(database), cube(database), history(database))
    with owner_database(database.settings.database_url).transaction(write=False) as session:
        events_before = session.execute(text("SELECT count(*) FROM events")).scalar_one()
    uzb = bearer(get_token(client, client_for_role(database, Role.member_state, "UZB")))

    with caplog.at_level("ERROR", logger="recnet.services.statistics.cube"):
        response = client.post(URL, json={"observations": [obs(4), obs(44, SEX="_T")]}, headers=uzb)

    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"].endswith(":disclosure-refused")
    assert (problem["indicator"], problem["year"]) == ("RETURNED", "2019")
    assert "UZB." not in response.text
    # The figure, as a number of its own (request ids are hex: "…b4436…" is not the figure).
    assert not re.search(r"(?<![0-9a-f])43(?![0-9a-f])", response.text), response.text
    assert (observed(database), cube(database), history(database)) == before
    with owner_database(database.settings.database_url).transaction(write=False) as session:
        assert session.execute(text("SELECT count(*) FROM events")).scalar_one() == events_before
    logged = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(logged) == 1
    assert "RETURNED.F.Y0T4.SYR.2019-Q2" in logged[0], logged
