"""Statistics as spreadsheets and scripts meet them: aggregates in CSV, the regional total only
when asked, CSV uploads with semicolons and a byte order mark, exports that say their file name
and can be revalidated."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from recnet.auth.principal import Role
from recnet.db import Database
from tests.factories import bearer, client_for_role, get_token, practice_body

URL = "/v1/statistics/observations"
AGGREGATES = "/v1/statistics/aggregates"


@pytest.fixture
def agency(client: TestClient, database: Database) -> dict[str, str]:
    return bearer(get_token(client, client_for_role(database, Role.member_state, "UZB")))


def _rows(**values: int) -> list[dict[str, Any]]:
    return [
        {
            "REF_AREA": "UZB",
            "INDICATOR": "RETURNED",
            "SEX": sex,
            "AGE": "_T",
            "COUNTERPART_AREA": "_T",
            "TIME_PERIOD": "2021",
            "OBS_VALUE": value,
        }
        for sex, value in values.items()
    ]


@pytest.fixture
def reported(client: TestClient, agency: dict[str, str]) -> None:
    pushed = client.post(URL, json={"observations": _rows(F=60, M=40)}, headers=agency)
    assert pushed.status_code == 200, pushed.text


# ------------------------------------------------------------------ aggregates


def test_aggregates_in_csv(client: TestClient, reported: None) -> None:
    answer = client.get(AGGREGATES, params={"by": "SEX,TIME_PERIOD", "format": "csv"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert "rr_stats_aggregates.csv" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert {(r["REF_AREA"], r["SEX"], r["OBS_VALUE"]) for r in rows} == {
        ("CAS", "F", "60"),
        ("CAS", "M", "40"),
        ("CAS", "_T", "100"),
    }
    by_accept = client.get(AGGREGATES, params={"by": "SEX"}, headers={"Accept": "text/csv"})
    assert by_accept.headers["content-type"].startswith("text/csv")
    assert by_accept.text == client.get(AGGREGATES, params={"by": "SEX", "format": "csv"}).text
    assert client.get(AGGREGATES, params={"format": "csv"}).status_code == 200
    # JSON stays the default.
    assert client.get(AGGREGATES).headers["content-type"] == "application/json"


def test_aggregates_by_area_give_the_region_only_when_asked(
    client: TestClient, reported: None
) -> None:
    by_area = client.get(AGGREGATES, params={"by": "REF_AREA,TIME_PERIOD"}).json()["items"]
    assert {(i["REF_AREA"], i["OBS_VALUE"]) for i in by_area} == {("UZB", 100)}
    # A column sum is the region's total, counted once.
    assert sum(i["OBS_VALUE"] for i in by_area) == 100
    with_region = client.get(
        AGGREGATES, params={"by": "REF_AREA,TIME_PERIOD", "ref_area": "UZB,CAS"}
    ).json()["items"]
    assert {(i["REF_AREA"], i["OBS_VALUE"]) for i in with_region} == {("UZB", 100), ("CAS", 100)}
    region = client.get(
        AGGREGATES, params={"by": "REF_AREA,TIME_PERIOD", "ref_area": "CAS"}
    ).json()["items"]
    assert {(i["REF_AREA"], i["OBS_VALUE"]) for i in region} == {("CAS", 100)}
    # Not kept, REF_AREA is the regional total, as before.
    total = client.get(AGGREGATES, params={"by": "TIME_PERIOD"}).json()["items"]
    assert {(i["REF_AREA"], i["OBS_VALUE"]) for i in total} == {("CAS", 100)}


# ------------------------------------------------------------------ CSV uploads


def _csv(text: str, agency: dict[str, str], client: TestClient, **params: Any) -> Any:
    return client.post(
        URL,
        content=text.encode("utf-8-sig"),
        params=params,
        headers={**agency, "Content-Type": "text/csv"},
    )


def test_a_semicolon_csv_with_a_byte_order_mark_is_read(
    client: TestClient, agency: dict[str, str]
) -> None:
    text = (
        "REF_AREA;INDICATOR;SEX;AGE;COUNTERPART_AREA;TIME_PERIOD;OBS_VALUE;COMMENT\r\n"
        'UZB;RETURNED;F;_T;_T;2022;70;"Итоги; предварительно"\r\n'
        "UZB;RETURNED;M;_T;_T;2022;30;\r\n"
    )
    answer = _csv(text, agency, client)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "OK"
    items = client.get(
        URL, params={"start_period": "2022", "end_period": "2022"}, headers=agency
    ).json()["items"]
    comments = {i["SEX"]: i["COMMENT"] for i in items}
    assert comments["F"] == "Итоги; предварительно"


def test_a_tab_separated_file_is_read_too(client: TestClient, agency: dict[str, str]) -> None:
    text = "REF_AREA\tINDICATOR\tSEX\tAGE\tCOUNTERPART_AREA\tTIME_PERIOD\tOBS_VALUE\n"
    text += "UZB\tRETURNED\tF\t_T\t_T\t2023\t12\n"
    answer = _csv(text, agency, client)
    assert answer.status_code == 200, answer.text


def test_a_header_that_does_not_match_names_the_delimiter_seen(
    client: TestClient, agency: dict[str, str]
) -> None:
    text = "REF_AREA;INDICATOR;SEX;AGE;COUNTRY;TIME_PERIOD;OBS_VALUE\nUZB;RETURNED;F;_T;_T;2022;1\n"
    refused = _csv(text, agency, client)
    assert refused.status_code == 422
    detail = refused.json()["detail"]
    assert "semicolon" in detail
    assert "COUNTRY" in detail
    assert "COUNTERPART_AREA" in detail


# ------------------------------------------------------------------ exports


@pytest.mark.parametrize(
    ("fmt", "filename"),
    [
        ("csv", "rr_stats_observations.csv"),
        ("sdmx-csv", "rr_stats_observations.sdmx.csv"),
        ("sdmx-json", "rr_stats_observations.sdmx.json"),
    ],
)
def test_observation_exports_are_downloads_with_validators(
    client: TestClient, reported: None, fmt: str, filename: str
) -> None:
    export = client.get(URL, params={"format": fmt})
    assert export.status_code == 200
    assert export.headers["content-disposition"] == f'attachment; filename="{filename}"'
    assert export.headers["cache-control"] == "no-cache"
    assert export.headers["last-modified"].endswith("GMT")
    again = client.get(
        URL, params={"format": fmt}, headers={"If-None-Match": export.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""
    since = client.get(
        URL, params={"format": fmt}, headers={"If-Modified-Since": export.headers["last-modified"]}
    )
    assert since.status_code == 304


def test_an_export_changes_its_etag_when_the_data_change(
    client: TestClient, agency: dict[str, str], reported: None
) -> None:
    before = client.get(URL, params={"format": "csv"}).headers["etag"]
    pushed = client.post(URL, json={"observations": _rows(F=61)}, headers=agency)
    assert pushed.status_code == 200
    after = client.get(URL, params={"format": "csv"}, headers={"If-None-Match": before})
    assert after.status_code == 200
    assert after.headers["etag"] != before


def test_a_hidden_records_write_does_not_move_the_public_exports_validators(
    client: TestClient, agency: dict[str, str], reported: None
) -> None:
    """A RED draft is invisible to the public: its event must not change the ETag or the
    Last-Modified of a public export, or a reader would learn when it was written (red team)."""
    paths = (
        (URL, {"format": "csv"}),
        ("/v1/sdmx/data/RECNET,RR_STATS,1.0/all", {"format": "sdmx-csv"}),
    )
    before = [client.get(path, params=params).headers for path, params in paths]
    time.sleep(1.1)  # Last-Modified has whole seconds
    draft = practice_body(status="draft", tlp="RED")
    assert client.post("/v1/practices", json=draft, headers=agency).status_code == 201
    for (path, params), seen in zip(paths, before, strict=True):
        again = client.get(path, params=params, headers={"If-None-Match": seen["etag"]})
        assert again.status_code == 304, path
        assert again.headers["etag"] == seen["etag"]
        assert again.headers["last-modified"] == seen["last-modified"]


def test_sdmx_data_downloads_say_their_file_name(client: TestClient, reported: None) -> None:
    for fmt, name in (
        ("sdmx-csv", "RR_STATS.csv"),
        ("sdmx-json", "RR_STATS.json"),
        ("genericdata", "RR_STATS.xml"),
    ):
        answer = client.get("/v1/sdmx/data/RECNET,RR_STATS,1.0/all", params={"format": fmt})
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-disposition"] == f'attachment; filename="{name}"'
        assert answer.headers["cache-control"] == "no-cache"


# ------------------------------------------------------------------ moments


def test_updated_since_without_a_zone_is_utc_and_one_out_of_range_is_refused(
    client: TestClient, reported: None
) -> None:
    """A date alone, or a moment without a zone, is taken as UTC (as the lists take it); one
    that UTC cannot hold is a 422 naming the parameter, never a 500."""
    for since in ("2000-01-01", "2000-01-01T00:00:00", "2000-01-01T00:00:00.5"):
        answer = client.get(URL, params={"updated_since": since})
        assert answer.status_code == 200, (since, answer.text)
        assert answer.json()["items"]
    later = client.get(URL, params={"updated_since": "2999-01-01"})
    assert later.status_code == 200
    assert later.json()["items"] == []
    for since in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+01:00"):
        refused = client.get(URL, params={"updated_since": since})
        assert refused.status_code == 422, (since, refused.text)
        assert refused.json()["errors"][0]["field"] == "updated_since"
