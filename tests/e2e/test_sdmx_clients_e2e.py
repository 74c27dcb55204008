"""Real SDMX clients against a real running recnet (``recnet serve``), on SQLite and PostgreSQL:
sdmx1's ``Client`` with its defaults (SDMX-ML 2.1), structure first, then data by key; pysdmx's
readers on the service's structure and data in SDMX-ML, SDMX-CSV 1.0 and 2.0; sdmx1 reading
SDMX-CSV with the structure it fetched. Every figure must be the JSON API's, for the reader
asking (an anonymous reader gets the protected figures, withheld cells without a value)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pysdmx.io
import pytest
import sdmx

from recnet.db import upgrade
from tests.conftest import PG_URL, _create_pg_database, _drop_pg_database
from tests.sdmx_standards import assert_valid_sdmx_ml, assert_valid_structure_specific
from tests.served import access_token, cli_client, database_url, served

DIMS = ("REF_AREA", "INDICATOR", "SEX", "AGE", "COUNTERPART_AREA", "TIME_PERIOD")
CSV = (
    "REF_AREA,INDICATOR,SEX,AGE,COUNTERPART_AREA,TIME_PERIOD,OBS_VALUE\n"
    + "".join(
        f"UZB,RETURNED,{sex},_T,SYR,{year},{value}\n"
        for year, values in (
            ("2019", (300, 3, 303)),
            ("2020", (120, 80, 200)),
            ("2021", (40, 44, 84)),
        )
        for sex, value in zip(("F", "M", "_T"), values, strict=True)
    )
    + "UZB,EMPLOYED,_T,_T,SYR,2020,40\n"
)

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", *(["postgresql"] if PG_URL else [])])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A running recnet with UZB's figures imported; yields its base URL."""
    if request.param == "sqlite":
        url = database_url(tmp_path)
    else:
        assert PG_URL is not None
        url = _create_pg_database(PG_URL)
        upgrade(url)
    try:
        with served(tmp_path, RECNET_DATABASE_URL=url) as (base, _):
            client = cli_client(url, "UZB", "statistics:write")
            token = access_token(base, client)
            pushed = httpx.post(
                f"{base}/v1/statistics/observations",
                content=CSV,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
            )
            assert pushed.status_code == 200, pushed.text
            yield base
    finally:
        if request.param == "postgresql":
            assert PG_URL is not None
            _drop_pg_database(PG_URL, url)


def json_api(base: str, **params: Any) -> dict[tuple[str, ...], int | None]:
    page = httpx.get(f"{base}/v1/statistics/observations", params={"limit": 10_000, **params})
    return {tuple(i[d] for d in DIMS): i["OBS_VALUE"] for i in page.json()["items"]}


def figures(series: Any) -> dict[tuple[str, ...], int | None]:
    """An sdmx1 or pandas series of values, keyed by the six dimensions in DSD order."""
    names = list(series.index.names)
    return {
        tuple(key[names.index(d)] for d in DIMS): None if value != value else int(value)
        for key, value in series.items()
    }


def test_sdmx1_structure_first_then_data(server: str) -> None:
    sdmx.add_source({"id": "RECNET", "url": f"{server}/v1/sdmx", "name": "recnet"},
                    override=True)  # fmt: skip
    client = sdmx.Client("RECNET")
    flows = client.dataflow()
    assert "RR_STATS" in flows.dataflow
    structure = client.datastructure("RR_STATS", params={"references": "all"})
    dsd = structure.structure["RR_STATS"]
    assert [d.id for d in dsd.dimensions] == list(DIMS)
    assert set(structure.codelist["CL_SEX"].items) == {"F", "M", "_T"}
    codelists = client.codelist()
    assert "CL_INDICATOR" in codelists.codelist
    message = client.data(
        "RR_STATS", key={"REF_AREA": "UZB", "SEX": "F"}, params={"startPeriod": "2020"}
    )
    got = figures(sdmx.to_pandas(message.data[0]))
    expected = json_api(server, ref_area="UZB", sex="F", start_period="2020")
    assert got == expected
    assert len(got) == 2
    everything = figures(sdmx.to_pandas(client.data("RR_STATS").data[0]))
    public = json_api(server)
    assert everything == public
    # The protected view: the cell of 3 persons is withheld, with no value.
    assert public[("UZB", "RETURNED", "M", "_T", "SYR", "2019")] is None


def test_sdmx1_reads_sdmx_csv_with_the_structure_it_fetched(server: str) -> None:
    structure = sdmx.read_sdmx(io.BytesIO(httpx.get(
        f"{server}/v1/sdmx/dataflow/RECNET/RR_STATS", params={"references": "all"}
    ).content))  # fmt: skip
    dataflow = structure.dataflow["RR_STATS"]
    body = httpx.get(
        f"{server}/v1/sdmx/data/RR_STATS/UZB....",
        headers={"Accept": "application/vnd.sdmx.data+csv;version=2.0.0"},
    ).content
    message = sdmx.read_sdmx(io.BytesIO(body), format="csv", structure=dataflow)
    frame = sdmx.to_pandas(message, attributes="o", dtype=None)
    got = {
        tuple(key[list(frame.index.names).index(d)] for d in DIMS): (
            int(row["value"]) if row["value"] else None
        )
        for key, row in frame.iterrows()
    }
    assert got == json_api(server, ref_area="UZB")


@pytest.mark.parametrize(
    "accept",
    [
        None,  # the default: generic data
        "application/vnd.sdmx.structurespecificdata+xml;version=2.1",
        "application/vnd.sdmx.data+csv;version=2.0.0",
        "application/vnd.sdmx.data+csv;version=1.0.0",
    ],
)
def test_pysdmx_reads_structure_and_data(server: str, accept: str | None) -> None:
    structures = pysdmx.io.read_sdmx(
        f"{server}/v1/sdmx/datastructure/RECNET/RR_STATS?references=all"
    )
    (dsd,) = structures.get_data_structure_definitions()
    assert [c.id for c in dsd.components.dimensions] == list(DIMS)
    headers = {"Accept": accept} if accept else {}
    body = httpx.get(f"{server}/v1/sdmx/data/RECNET,RR_STATS,1.0/all", headers=headers).text
    if accept is None:
        assert_valid_sdmx_ml(body.encode())
    elif "structurespecific" in accept:
        schema = httpx.get(f"{server}/v1/sdmx/schema/dataflow/RECNET/RR_STATS/1.0").content
        assert_valid_structure_specific(body.encode(), schema)
    (dataset,) = pysdmx.io.read_sdmx(body).data
    got = {
        tuple(row[d] for d in DIMS): (int(row["OBS_VALUE"]) if row["OBS_VALUE"] else None)
        for row in dataset.data.to_dict("records")
    }
    assert got == json_api(server)
