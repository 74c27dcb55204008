"""SDMX availability (/v1/sdmx/availableconstraint/...) and the actual content constraint
(/v1/sdmx/contentconstraint): what data exist, in the caller's view, with series and observation
counts; validated against the official XSDs and the SDMX-JSON structure schema."""

from __future__ import annotations

import io
from typing import Any

import pysdmx.io
import pytest
import sdmx
from fastapi.testclient import TestClient

from recnet.db import Database
from tests.api.sdmx.test_sdmx_data import data  # noqa: F401 (the fixture that imports the figures)
from tests.sdmx_standards import assert_valid_json, assert_valid_sdmx_ml

JSON = "application/vnd.sdmx.structure+json;version=1.0.0"
JSON_SCHEMA = "sdmx-json-1.0/sdmx-json-structure-schema.json"
STR = "{http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure}"
COM = "{http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common}"


def region(client: TestClient, url: str, **params: str) -> dict[str, Any]:
    """The constraint's cube region and counts, from SDMX-ML and SDMX-JSON (which must agree)."""
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    document = assert_valid_sdmx_ml(response.content)
    (constraint,) = document.iter(f"{STR}ContentConstraint")
    assert constraint.get("type") == "Actual"
    found: dict[str, Any] = {}
    for key_value in constraint.iter(f"{COM}KeyValue"):
        if key_value.get("id") == "TIME_PERIOD":
            found["TIME_PERIOD"] = (
                key_value.find(f"{COM}TimeRange/{COM}StartPeriod").text,
                key_value.find(f"{COM}TimeRange/{COM}EndPeriod").text,
            )
        else:
            found[key_value.get("id")] = {v.text for v in key_value.iter(f"{COM}Value")}
    for annotation in constraint.iter(f"{COM}Annotation"):
        found[annotation.get("id")] = int(annotation.find(f"{COM}AnnotationTitle").text)
    as_json = client.get(url, params=params, headers={"Accept": JSON}).json()
    assert_valid_json(as_json, JSON_SCHEMA)
    (json_constraint,) = as_json["data"]["contentConstraints"]
    json_found: dict[str, Any] = {}
    for key_value in json_constraint["cubeRegions"][0]["keyValues"]:
        if "timeRange" in key_value:
            time_range = key_value["timeRange"]
            json_found["TIME_PERIOD"] = (
                time_range["startPeriod"]["period"],
                time_range["endPeriod"]["period"],
            )
        else:
            json_found[key_value["id"]] = set(key_value["values"])
    for annotation in json_constraint["annotations"]:
        json_found[annotation["id"]] = int(annotation["title"])
    assert json_found == found
    return found


@pytest.mark.usefixtures("data")
def test_availability_of_everything(client: TestClient) -> None:
    found = region(client, "/v1/sdmx/availableconstraint/RR_STATS")
    assert found["REF_AREA"] == {"UZB", "KAZ"}
    assert found["INDICATOR"] == {"RETURNED", "EMPLOYED"}
    assert found["SEX"] == {"F", "M", "_T"}
    assert found["TIME_PERIOD"] == ("2019", "2021")
    assert found["obs_count"] == 13
    assert found["series_count"] == 7


@pytest.mark.usefixtures("data")
def test_exact_and_available_modes(client: TestClient) -> None:
    url = "/v1/sdmx/availableconstraint/RR_STATS/KAZ.RETURNED.F.."
    exact = region(client, url)
    assert exact["REF_AREA"] == {"KAZ"}
    assert exact["SEX"] == {"F"}
    assert exact["TIME_PERIOD"] == ("2019", "2019")
    assert (exact["series_count"], exact["obs_count"]) == (1, 1)
    available = region(client, url, mode="available")
    # Each dimension: the codes that would still give data with the rest of the query.
    assert available["REF_AREA"] == {"UZB", "KAZ"}
    assert available["SEX"] == {"F", "M", "_T"}
    assert available["INDICATOR"] == {"RETURNED"}


@pytest.mark.usefixtures("data")
def test_provider_component_and_periods(client: TestClient) -> None:
    found = region(client, "/v1/sdmx/availableconstraint/RR_STATS/all/UZB/SEX")
    assert set(found) == {"SEX", "series_count", "obs_count"}
    assert found["obs_count"] == 10
    time = region(client, "/v1/sdmx/availableconstraint/RR_STATS/all/all/TIME_PERIOD",
                  startPeriod="2020")  # fmt: skip
    assert time["TIME_PERIOD"] == ("2020", "2021")


@pytest.mark.usefixtures("data")
def test_references_give_partial_codelists(client: TestClient) -> None:
    response = client.get(
        "/v1/sdmx/availableconstraint/RR_STATS/KAZ....", params={"references": "all"}
    )
    document = assert_valid_sdmx_ml(response.content)
    codelists = {c.get("id"): c for c in document.iter(f"{STR}Codelist")}
    ref_area = codelists["CL_REF_AREA"]
    assert ref_area.get("isPartial") == "true"
    assert [c.get("id") for c in ref_area.iter(f"{STR}Code")] == ["KAZ"]
    assert {"DataStructure", "Dataflow", "DataProviderScheme", "ConceptScheme"} <= {
        e.tag.removeprefix(STR) for e in document.iter() if isinstance(e.tag, str)
    }
    providers = next(document.iter(f"{STR}DataProviderScheme"))
    assert [p.get("id") for p in providers.iter(f"{STR}DataProvider")] == ["KAZ"]
    message = sdmx.read_sdmx(io.BytesIO(response.content))
    assert set(message.codelist["CL_REF_AREA"].items) == {"KAZ"}


@pytest.mark.usefixtures("data")
def test_the_content_constraint_resource(client: TestClient) -> None:
    found = region(client, "/v1/sdmx/contentconstraint")
    assert found["obs_count"] == 13
    assert region(client, "/v1/sdmx/actualconstraint/RECNET/CC_RR_STATS") == found
    assert client.get("/v1/sdmx/allowedconstraint").status_code == 501


@pytest.mark.usefixtures("data")
def test_pysdmx_reads_the_constraint(client: TestClient) -> None:
    body = client.get("/v1/sdmx/availableconstraint/RR_STATS").text
    message = pysdmx.io.read_sdmx(body)
    assert message.structures


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/v1/sdmx/availableconstraint/OTHER", 404),
        ("/v1/sdmx/availableconstraint/RR_STATS/TJK....", 404),
        ("/v1/sdmx/availableconstraint/RR_STATS/all/all/COLOUR", 422),
        ("/v1/sdmx/availableconstraint/RR_STATS/UZB.RETURNED", 422),
        ("/v1/sdmx/availableconstraint/RR_STATS?mode=maybe", 422),
        ("/v1/sdmx/availableconstraint/RR_STATS?references=parents", 422),
    ],
)
@pytest.mark.usefixtures("data")
def test_availability_errors(client: TestClient, url: str, status: int) -> None:
    response = client.get(url)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_no_data_no_constraint(client: TestClient, database: Database) -> None:
    assert client.get("/v1/sdmx/availableconstraint/RR_STATS").status_code == 404
    assert client.get("/v1/sdmx/contentconstraint").status_code == 404
