"""SDMX REST data queries (/v1/sdmx/data/...): standard keys, providers, formats by Accept
(SDMX-ML generic and structure-specific validated against the official XSDs and the dataflow's own
schema, SDMX-JSON 1.0 and 2.0 against their schemas, SDMX-CSV), detail, first/last N, updatedAfter,
the errors, and the caller's view of the protected figures, equal to the JSON API's."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pysdmx.errors
import pysdmx.io
import pytest
import sdmx
from fastapi.testclient import TestClient

from recnet.auth.principal import Role
from recnet.db import Database
from tests.factories import bearer, client_for_role, get_token
from tests.sdmx_standards import (
    assert_valid_json_data,
    assert_valid_json_data_2,
    assert_valid_sdmx_ml,
    assert_valid_structure_specific,
    read_json_data_2,
)

URL = "/v1/statistics/observations"
DIMS = ("REF_AREA", "INDICATOR", "SEX", "AGE", "COUNTERPART_AREA", "TIME_PERIOD")
GENERIC = "application/vnd.sdmx.genericdata+xml;version=2.1"
SPECIFIC = "application/vnd.sdmx.structurespecificdata+xml;version=2.1"
JSON1 = "application/vnd.sdmx.data+json;version=1.0.0"
JSON2 = "application/vnd.sdmx.data+json;version=2.0.0"
CSV2 = "application/vnd.sdmx.data+csv;version=2.0.0"
CSV1 = "application/vnd.sdmx.data+csv;version=1.0.0"
GEN = "{http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/generic}"


def row(value: int, **dims: str) -> dict[str, Any]:
    return {
        "REF_AREA": "UZB",
        "INDICATOR": "RETURNED",
        "SEX": "F",
        "AGE": "_T",
        "COUNTERPART_AREA": "SYR",
        "TIME_PERIOD": "2019",
        "OBS_VALUE": value,
        **dims,
    }


ROWS = [
    row(300, SEX="F"),
    row(3, SEX="M", OBS_STATUS="E", COMMENT="предварительно"),  # withheld for the public
    row(303, SEX="_T"),
    row(120, SEX="F", TIME_PERIOD="2020"),
    row(80, SEX="M", TIME_PERIOD="2020"),
    row(200, SEX="_T", TIME_PERIOD="2020"),
    row(40, SEX="F", TIME_PERIOD="2021"),
    row(44, SEX="M", TIME_PERIOD="2021"),
    row(84, SEX="_T", TIME_PERIOD="2021"),
    row(40, INDICATOR="EMPLOYED", SEX="_T"),
]


def headers_of(client: TestClient, database: Database, role: Role, tenant: str = "UZB") -> Any:
    if role is Role.anonymous:
        return {}
    organisation = tenant if role is Role.member_state else None
    return bearer(get_token(client, client_for_role(database, role, organisation)))


@pytest.fixture
def data(client: TestClient, database: Database) -> None:
    agency = headers_of(client, database, Role.member_state)
    kaz = headers_of(client, database, Role.member_state, "KAZ")
    response = client.post(URL, json={"observations": ROWS}, headers=agency)
    assert response.status_code == 200, response.text
    kaz_rows = [{**r, "REF_AREA": "KAZ"} for r in ROWS[:3]]
    response = client.post(URL, json={"observations": kaz_rows}, headers=kaz)
    assert response.status_code == 200, response.text


def json_api(client: TestClient, headers: dict[str, str], **params: Any) -> dict[tuple, Any]:
    response = client.get(URL, params={"limit": 10_000, **params}, headers=headers)
    return {
        tuple(i[d] for d in DIMS): (i["OBS_VALUE"], i["CONF_STATUS"])
        for i in response.json()["items"]
    }


@pytest.fixture(scope="module")
def dataflow_xsd() -> Callable[[TestClient, str], bytes]:
    def get(client: TestClient, level: str) -> bytes:
        response = client.get(
            "/v1/sdmx/schema/dataflow/RECNET/RR_STATS/1.0",
            params={"dimensionAtObservation": level},
        )
        assert response.status_code == 200
        return response.content

    return get


def generic_cells(body: bytes) -> dict[tuple, tuple[int | None, str]]:
    """(value, CONF_STATUS) per key, read from a generic data message with lxml."""
    document = assert_valid_sdmx_ml(body)
    cells = {}
    for series in document.iter(f"{GEN}Series"):
        key = tuple(v.get("value") for v in series.find(f"{GEN}SeriesKey"))
        for obs in series.iter(f"{GEN}Obs"):
            period = obs.find(f"{GEN}ObsDimension").get("value")
            value = obs.find(f"{GEN}ObsValue")
            attrs = {v.get("id"): v.get("value") for v in obs.iter(f"{GEN}Value")}
            cells[(*key, period)] = (
                None if value is None else int(value.get("value")),
                attrs["CONF_STATUS"],
            )
    return cells


def specific_cells(body: bytes, xsd: bytes) -> dict[tuple, tuple[int | None, str]]:
    document = assert_valid_structure_specific(body, xsd)
    cells = {}
    for series in document.iter("Series"):
        key = tuple(series.get(d) for d in DIMS[:-1])
        for obs in series.iter("Obs"):
            value = obs.get("OBS_VALUE")
            cells[(*key, obs.get("TIME_PERIOD"))] = (
                None if value is None else int(value),
                obs.get("CONF_STATUS"),
            )
    return cells


def csv_cells(body: bytes) -> dict[tuple, tuple[int | None, str]]:
    return {
        tuple(r[d] for d in DIMS): (int(r["OBS_VALUE"]) if r["OBS_VALUE"] else None,
                                    r["CONF_STATUS"])
        for r in csv.DictReader(io.StringIO(body.decode()))
    }  # fmt: skip


def json_cells(body: bytes) -> dict[tuple, tuple[int | None, str]]:
    message = json.loads(body)
    structure = message["structure"]
    dims = structure["dimensions"]["observation"]
    conf_position = [a["id"] for a in structure["attributes"]["observation"]].index("CONF_STATUS")
    conf_values = structure["attributes"]["observation"][conf_position]["values"]
    cells = {}
    for key, values in message["dataSets"][0]["observations"].items():
        codes = tuple(dims[i]["values"][int(k)]["id"] for i, k in enumerate(key.split(":")))
        cells[codes] = (values[0], conf_values[values[1 + conf_position]]["id"])
    return cells


def json2_observations(body: bytes) -> dict[tuple, dict[str, Any]]:
    """The observations of an SDMX-JSON 2.0 message, validated against its schema."""
    message = json.loads(body)
    assert_valid_json_data_2(message)
    return read_json_data_2(message)


def json2_cells(body: bytes) -> dict[tuple, tuple[int | None, str]]:
    return {k: (o["OBS_VALUE"], o["CONF_STATUS"]) for k, o in json2_observations(body).items()}


READERS = {
    "anonymous": (Role.anonymous, None),
    "researcher": (Role.researcher, None),
    "partner": (Role.partner, None),
    "owner UZB": (Role.member_state, "UZB"),
    "other state KAZ": (Role.member_state, "KAZ"),
    "secretariat": (Role.secretariat, None),
}


@pytest.mark.parametrize("reader", READERS)
def test_every_format_gives_the_callers_view_as_the_json_api(
    client: TestClient, database: Database, data: None, dataflow_xsd: Any, reader: str
) -> None:
    role, tenant = READERS[reader]
    headers = headers_of(client, database, role, tenant or "UZB")
    expected = json_api(client, headers)
    assert len(expected) == len(ROWS) + 3
    if reader in ("owner UZB", "secretariat"):
        assert expected[("UZB", "RETURNED", "M", "_T", "SYR", "2019")] == (3, "F")
    else:
        # Protected: the small cell withheld, flagged C, no value; nothing exact leaks, not
        # to another member state either.
        assert expected[("UZB", "RETURNED", "M", "_T", "SYR", "2019")] == (None, "C")
    xsd = dataflow_xsd(client, "TIME_PERIOD")
    url = "/v1/sdmx/data/RR_STATS/all"
    read = {
        GENERIC: generic_cells,
        SPECIFIC: lambda body: specific_cells(body, xsd),
        JSON1: json_cells,
        JSON2: json2_cells,
        CSV2: csv_cells,
        CSV1: csv_cells,
    }
    for media, parse in read.items():
        response = client.get(url, headers={**headers, "Accept": media})
        assert response.status_code == 200, (media, response.text[:300])
        assert response.headers["content-type"] == media
        if media == JSON1:
            assert_valid_json_data(response.json())
        assert parse(response.content) == expected, media


def test_generic_data_is_the_default_and_for_generic_xml(client: TestClient, data: None) -> None:
    for accept in (None, "*/*", "application/xml", "text/xml;q=0.9"):
        response = client.get(
            "/v1/sdmx/data/RR_STATS", headers={"Accept": accept} if accept else {}
        )
        assert response.status_code == 200
        assert response.headers["content-type"] == GENERIC


@pytest.mark.parametrize(
    "accept",
    [
        "application/json",
        "text/html",
        "application/vnd.sdmx.data+json;version=2.1.0",
        "application/vnd.sdmx.data+json;version=3.0.0",
        "application/vnd.sdmx.genericdata+xml;version=3.0.0",
        "application/vnd.sdmx.structure+xml;version=2.1",
    ],
)
def test_formats_not_served_are_406(client: TestClient, data: None, accept: str) -> None:
    response = client.get("/v1/sdmx/data/RR_STATS/all", headers={"Accept": accept})
    assert response.status_code == 406
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("key", "count"),
    [
        ("all", 13),
        ("UZB.RETURNED.F..", 3),
        ("UZB.RETURNED.F.._T", 0),
        ("UZB.RETURNED.F._T.SYR", 3),
        ("UZB+KAZ.RETURNED.F..", 4),
        (".EMPLOYED...", 1),
        ("....", 13),
        ("UZB.RETURNED.F...2020", 1),  # the six-position form, still read
        ("UZB.....2019+2020", 7),
    ],
)
def test_standard_five_position_keys(client: TestClient, data: None, key: str, count: int) -> None:
    response = client.get(f"/v1/sdmx/data/RR_STATS/{key}", headers={"Accept": CSV2})
    if count == 0:
        assert response.status_code == 404
        assert response.json()["title"] == "Not found"
        return
    assert response.status_code == 200, response.text
    assert len(csv_cells(response.content)) == count


@pytest.mark.parametrize(
    ("flow", "status"),
    [
        ("RR_STATS", 200),
        ("RECNET,RR_STATS", 200),
        ("RECNET,RR_STATS,1.0", 200),
        ("RECNET,RR_STATS,latest", 200),
        ("RECNET,RR_STATS,2.0", 404),
        ("ECB,EXR", 404),
    ],
)
def test_flow_references(client: TestClient, data: None, flow: str, status: int) -> None:
    assert client.get(f"/v1/sdmx/data/{flow}/all").status_code == status


@pytest.mark.parametrize(
    ("provider", "areas"),
    [("UZB", {"UZB"}), ("RECNET,KAZ", {"KAZ"}), ("UZB+KAZ", {"UZB", "KAZ"}), ("all", None)],
)
def test_provider_reference_is_the_member_state(
    client: TestClient, data: None, provider: str, areas: set[str] | None
) -> None:
    response = client.get(f"/v1/sdmx/data/RR_STATS/all/{provider}", headers={"Accept": CSV2})
    assert response.status_code == 200
    found = {k[0] for k in csv_cells(response.content)}
    assert found == (areas or {"UZB", "KAZ"})
    assert client.get("/v1/sdmx/data/RR_STATS/KAZ..../UZB").status_code == 404
    assert client.get("/v1/sdmx/data/RR_STATS/all/ECB,UZB").status_code == 404


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/v1/sdmx/data/RR_STATS/UZB.RETURNED", {}),
        ("/v1/sdmx/data/RR_STATS/UZB.RETURNED.F.._T.2019.X", {}),
        ("/v1/sdmx/data/RR_STATS/all", {"startPeriod": "2019-W01"}),
        ("/v1/sdmx/data/RR_STATS/all", {"lastNObservations": "0"}),
        ("/v1/sdmx/data/RR_STATS/all", {"lastNObservations": "x"}),
        ("/v1/sdmx/data/RR_STATS/all", {"detail": "everything"}),
        ("/v1/sdmx/data/RR_STATS/all", {"dimensionAtObservation": "COLOUR"}),
        ("/v1/sdmx/data/RR_STATS/all", {"dimensionAtObservation": "SEX", "lastNObservations": "1"}),
        ("/v1/sdmx/data/RR_STATS/all", {"updatedAfter": "yesterday"}),
        ("/v1/sdmx/data/RR_STATS/" + "+".join(["UZB"] * 101) + "....", {}),
    ],
)
def test_bad_queries_are_clear_problems(
    client: TestClient, data: None, url: str, params: dict[str, str]
) -> None:
    response = client.get(url, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_no_data_is_404_no_results_found(client: TestClient) -> None:
    for accept in (GENERIC, JSON1, JSON2, CSV2):
        response = client.get("/v1/sdmx/data/RR_STATS/all", headers={"Accept": accept})
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


def test_periods_and_first_last_observations(client: TestClient, data: None) -> None:
    def periods(**params: str) -> dict[str, set[str]]:
        response = client.get(
            "/v1/sdmx/data/RR_STATS/UZB.RETURNED...", params=params, headers={"Accept": CSV2}
        )
        assert response.status_code == 200, response.text
        by_sex: dict[str, set[str]] = {}
        for key in csv_cells(response.content):
            by_sex.setdefault(key[2], set()).add(key[5])
        return by_sex

    everything = {"2019", "2020", "2021"}
    assert periods() == {"F": everything, "M": everything, "_T": everything}
    assert periods(lastNObservations="1") == {"F": {"2021"}, "M": {"2021"}, "_T": {"2021"}}
    assert periods(firstNObservations="2")["F"] == {"2019", "2020"}
    assert periods(firstNObservations="1", lastNObservations="1")["M"] == {"2019", "2021"}
    assert periods(startPeriod="2020", endPeriod="2020-12")["_T"] == {"2020"}
    assert periods(startPeriod="2020-Q1", lastNObservations="5")["F"] == {"2020", "2021"}


def test_updated_after(client: TestClient, data: None) -> None:
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    response = client.get("/v1/sdmx/data/RR_STATS/all", params={"updatedAfter": past},
                          headers={"Accept": CSV2})  # fmt: skip
    assert len(csv_cells(response.content)) == 13
    later = client.get("/v1/sdmx/data/RR_STATS/all", params={"updatedAfter": future})
    assert later.status_code == 404


def test_detail(client: TestClient, data: None, dataflow_xsd: Any) -> None:
    url = "/v1/sdmx/data/RR_STATS/UZB.RETURNED..."
    xsd = dataflow_xsd(client, "TIME_PERIOD")
    full = client.get(url, headers={"Accept": GENERIC}).content
    assert b'id="OBS_STATUS"' in full
    assert b'id="COMMENT"' in full
    data_only = client.get(url, params={"detail": "dataonly"}, headers={"Accept": GENERIC})
    assert b'id="OBS_STATUS"' not in data_only.content
    assert b'id="COMMENT"' not in data_only.content
    # The confidentiality flag is never dropped: a withheld cell stays marked.
    assert generic_cells(data_only.content) == generic_cells(full)
    full_2 = json2_observations(client.get(url, headers={"Accept": JSON2}).content)
    assert any(o["COMMENT"] for o in full_2.values())
    data_only_2 = json2_observations(
        client.get(url, params={"detail": "dataonly"}, headers={"Accept": JSON2}).content
    )
    assert {k: (o["OBS_VALUE"], o["CONF_STATUS"]) for k, o in data_only_2.items()} == {
        k: (o["OBS_VALUE"], o["CONF_STATUS"]) for k, o in full_2.items()
    }
    assert not any(o[a] for o in data_only_2.values() for a in ("OBS_STATUS", "COMMENT", "SOURCE"))
    for detail in ("serieskeysonly", "nodata"):
        for media in (GENERIC, SPECIFIC):
            response = client.get(url, params={"detail": detail}, headers={"Accept": media})
            assert response.status_code == 200
            body = response.content
            if media == GENERIC:
                document = assert_valid_sdmx_ml(body)
                assert len(list(document.iter(f"{GEN}Series"))) == 3
                assert not list(document.iter(f"{GEN}Obs"))
            else:
                document = assert_valid_structure_specific(body, xsd)
                assert len(list(document.iter("Series"))) == 3
                assert not list(document.iter("Obs"))
        keys = client.get(url, params={"detail": detail}, headers={"Accept": JSON1}).json()
        assert_valid_json_data(keys)
        series = keys["dataSets"][0]["series"]
        assert len(series) == 3
        assert all(s["observations"] == {} for s in series.values())
        keys_2 = client.get(url, params={"detail": detail}, headers={"Accept": JSON2}).json()
        assert_valid_json_data_2(keys_2)
        series = keys_2["data"]["dataSets"][0]["series"]
        assert len(series) == 3
        assert all(s["observations"] == {} for s in series.values())
        refused = client.get(url, params={"detail": detail}, headers={"Accept": CSV2})
        assert refused.status_code == 422


def test_all_dimensions_at_observation(client: TestClient, data: None, dataflow_xsd: Any) -> None:
    params = {"dimensionAtObservation": "AllDimensions"}
    generic = client.get("/v1/sdmx/data/RR_STATS/UZB....", params=params)
    document = assert_valid_sdmx_ml(generic.content)
    assert len(list(document.iter(f"{GEN}ObsKey"))) == 10
    specific = client.get(
        "/v1/sdmx/data/RR_STATS/UZB....", params=params, headers={"Accept": SPECIFIC}
    )
    document = assert_valid_structure_specific(
        specific.content, dataflow_xsd(client, "AllDimensions")
    )
    assert len(list(document.iter("Obs"))) == 10


def test_structure_specific_schema_is_not_vacuous(
    client: TestClient, data: None, dataflow_xsd: Any
) -> None:
    body = client.get("/v1/sdmx/data/RR_STATS/all", headers={"Accept": SPECIFIC}).content
    xsd = dataflow_xsd(client, "TIME_PERIOD")
    assert_valid_structure_specific(body, xsd)
    for broken in (
        body.replace(b'REF_AREA="UZB"', b'REF_AREA="XXX"', 1),
        body.replace(b'OBS_VALUE="', b'OBS_VALUE="-', 1),
        body.replace(b'CONF_STATUS="F"', b'CONF_STATUS="Q"', 1),
    ):
        assert broken != body
        with pytest.raises(AssertionError, match="does not validate"):
            assert_valid_structure_specific(broken, xsd)


def test_gzip_when_asked(client: TestClient, data: None) -> None:
    response = client.get(
        "/v1/sdmx/data/RR_STATS/all",
        headers={"Accept": CSV2, "Accept-Encoding": "gzip"},
    )
    assert response.headers["content-encoding"] == "gzip"
    assert len(csv_cells(response.content)) == 13  # httpx decompresses
    raw = client.get(
        "/v1/sdmx/data/RR_STATS/all", headers={"Accept": CSV2, "Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in raw.headers


def test_sdmx1_reads_structure_specific_with_the_services_structure(
    client: TestClient, data: None
) -> None:
    structure = sdmx.read_sdmx(
        io.BytesIO(
            client.get("/v1/sdmx/dataflow/RECNET/RR_STATS", params={"references": "all"}).content
        )
    )
    dsd = structure.structure["RR_STATS"]
    body = client.get("/v1/sdmx/data/RR_STATS/UZB....", headers={"Accept": SPECIFIC}).content
    message = sdmx.read_sdmx(io.BytesIO(body), structure=dsd)
    series = sdmx.to_pandas(message.data[0])
    expected = {k: v for k, (v, _) in json_api(client, {}).items() if k[0] == "UZB"}
    got = {
        tuple(index): (None if math.isnan(value) else int(value)) for index, value in series.items()
    }
    assert got == expected


def test_the_old_sdmx_json_route_parameters_still_work(client: TestClient, data: None) -> None:
    response = client.get("/v1/sdmx/data/RR_STATS/UZB.....", params={"format": "sdmx-json"})
    assert response.headers["content-type"] == JSON1


def test_etag_and_last_modified_follow_the_data(
    client: TestClient, database: Database, data: None
) -> None:
    url = "/v1/sdmx/data/RR_STATS/UZB...."
    first = client.get(url)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    # Another reader's view, another format: another tag.
    owner = headers_of(client, database, Role.member_state)
    assert client.get(url, headers={**owner, "If-None-Match": etag}).status_code == 200
    assert client.get(url, headers={"Accept": CSV2, "If-None-Match": etag}).status_code == 200
    available = client.get("/v1/sdmx/availableconstraint/RR_STATS")
    constraint_tag = available.headers["etag"]
    headers = {"If-None-Match": constraint_tag}
    assert client.get("/v1/sdmx/availableconstraint/RR_STATS", headers=headers).status_code == 304
    # A new import moves the log's head: the kept answers are stale.
    pushed = client.post(URL, json={"observations": [row(51, TIME_PERIOD="2022")]}, headers=owner)
    assert pushed.status_code == 200, pushed.text
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 200
    later = client.get("/v1/sdmx/availableconstraint/RR_STATS", headers=headers)
    assert later.status_code == 200
    assert later.headers["etag"] != constraint_tag


@pytest.mark.parametrize("dimension", ["SEX", "REF_AREA", "COUNTERPART_AREA"])
def test_any_dimension_at_the_observation(
    client: TestClient, data: None, dataflow_xsd: Any, dimension: str
) -> None:
    params = {"dimensionAtObservation": dimension}
    expected = {k: v for k, (v, _) in json_api(client, {}).items()}
    generic = client.get("/v1/sdmx/data/RR_STATS/all", params=params)
    assert generic.status_code == 200, generic.text
    document = assert_valid_sdmx_ml(generic.content)
    observed = {o.get("id") for o in document.iter(f"{GEN}ObsDimension")}
    assert observed == {dimension}
    series = sdmx.to_pandas(sdmx.read_sdmx(io.BytesIO(generic.content)).data[0])
    names = list(series.index.names)
    got = {
        tuple(k[names.index(d)] for d in DIMS): (None if math.isnan(v) else int(v))
        for k, v in series.items()
    }
    assert got == expected
    specific = client.get("/v1/sdmx/data/RR_STATS/all", params=params, headers={"Accept": SPECIFIC})
    document = assert_valid_structure_specific(specific.content, dataflow_xsd(client, dimension))
    first_series = next(document.iter("Series"))
    assert dimension not in first_series.attrib
    assert "TIME_PERIOD" in first_series.attrib
    assert all(dimension in o.attrib for o in document.iter("Obs"))
    # Each series appears once: the cells are read series by series.
    keys = [tuple(sorted(s.attrib.items())) for s in document.iter("Series")]
    assert len(keys) == len(set(keys))
    as_json = client.get(
        "/v1/sdmx/data/RR_STATS/all", params=params, headers={"Accept": JSON1}
    ).content
    message = json.loads(as_json)
    assert_valid_json_data(message)
    assert [d["id"] for d in message["structure"]["dimensions"]["observation"]] == [dimension]
    values = sdmx.to_pandas(sdmx.read_sdmx(io.BytesIO(as_json)).data[0])
    names = list(values.index.names)
    got = {
        tuple(k[names.index(d)] for d in DIMS): (None if math.isnan(v) else int(v))
        for k, v in values.items()
    }
    assert got == expected


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"lastNObservations": "1"},
        {"firstNObservations": "2", "lastNObservations": "1"},
        {"startPeriod": "2020", "endPeriod": "2020-12"},
        {"updatedAfter": "2000-01-01T00:00:00Z"},
        {"dimensionAtObservation": "AllDimensions"},
        {"dimensionAtObservation": "AllDimensions", "lastNObservations": "1"},
        {"dimensionAtObservation": "SEX"},
    ],
)
def test_sdmx_json_2_answers_each_query_as_sdmx_csv(
    client: TestClient, database: Database, data: None, params: dict[str, str]
) -> None:
    url = "/v1/sdmx/data/RR_STATS/UZB....."
    owner = headers_of(client, database, Role.member_state)
    for headers in ({}, owner):
        expected = client.get(url, params=params, headers={**headers, "Accept": CSV2})
        response = client.get(url, params=params, headers={**headers, "Accept": JSON2})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == JSON2
        assert json2_cells(response.content) == csv_cells(expected.content)
        level = params.get("dimensionAtObservation", "TIME_PERIOD")
        structure = response.json()["data"]["structures"][0]["dimensions"]
        observed = [d["id"] for d in structure["observation"]]
        assert observed == (list(DIMS) if level == "AllDimensions" else [level])


def test_sdmx_json_2_by_its_short_version_and_by_series_unless_asked(
    client: TestClient, data: None
) -> None:
    short = client.get(
        "/v1/sdmx/data/RR_STATS/all",
        headers={"Accept": "application/vnd.sdmx.data+json;version=2.0"},
    )
    assert short.headers["content-type"] == JSON2
    assert json2_cells(short.content) == json2_cells(
        client.get("/v1/sdmx/data/RR_STATS/all", headers={"Accept": JSON2}).content
    )
    assert "series" in short.json()["data"]["dataSets"][0]
    # A caller naming no version gets SDMX-JSON 1.0, flat, as recnet has always answered.
    unversioned = client.get(
        "/v1/sdmx/data/RR_STATS/all", headers={"Accept": "application/vnd.sdmx.data+json"}
    )
    assert unversioned.headers["content-type"] == JSON1
    assert "observations" in unversioned.json()["dataSets"][0]


@pytest.mark.xfail(
    raises=pysdmx.errors.NotImplemented,
    strict=True,
    reason="pysdmx (1.21.0, the latest release) has no SDMX-JSON data reader",
)
def test_pysdmx_reads_sdmx_json_2(client: TestClient, data: None) -> None:
    body = client.get("/v1/sdmx/data/RR_STATS/all", headers={"Accept": JSON2}).text
    (dataset,) = pysdmx.io.read_sdmx(body).data
    got = {
        tuple(row[d] for d in DIMS): (None if row["OBS_VALUE"] != row["OBS_VALUE"]
                                      else int(row["OBS_VALUE"]))
        for row in dataset.data.to_dict("records")
    }  # fmt: skip
    assert got == {k: v for k, (v, _) in json_api(client, {}).items()}


def test_the_schema_query(client: TestClient) -> None:
    url = "/v1/sdmx/schema/dataflow/RECNET/RR_STATS"
    first = client.get(url)
    assert first.headers["content-type"] == "application/vnd.sdmx.schema+xml;version=2.1"
    assert b"CL_REF_AREAType" in first.content
    assert client.get(url, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    assert client.get(url + "/2.0").status_code == 404
    assert client.get("/v1/sdmx/schema/dataflow/ECB/EXR").status_code == 404
    assert client.get(url, headers={"Accept": "application/json"}).status_code == 406
    assert client.get(url, params={"dimensionAtObservation": "COLOUR"}).status_code == 422


def test_an_oversized_accept_header_is_bounded(client: TestClient, data: None) -> None:
    accept = ",".join(["text/x-nothing"] * 5000) + "," + CSV2
    response = client.get("/v1/sdmx/data/RR_STATS/all", headers={"Accept": accept})
    # Only the first ranges are read: this one is refused, quickly, as not acceptable.
    assert response.status_code == 406
    assert response.headers["content-type"] == "application/problem+json"
