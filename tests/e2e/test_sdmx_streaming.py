"""Every streamed statistics format, with messages many times the chunk size, parsed whole by a
real client: sdmx1 (SDMX-JSON 1.0, SDMX-CSV), pandas and the csv module (CSV); SDMX-JSON 2.0, which
no SDMX library here reads, validated against its schema and decoded by the tests.

The SDMX-JSON writer once dropped the chunk handed back when the closing ``structure`` part filled
the buffer: the message lost its end, or (when everything fitted in one chunk until then) came back
empty. These tests sweep the message size across the chunk boundary, and make the structure part
alone larger than a chunk, so that no position of the boundary goes untried.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest
import sdmx
from sdmx.model import common, v30

from recnet.formats.sdmx import (
    ATTRIBUTES,
    CHUNK_SIZE,
    SDMX_JSON_2,
    JsonVersion,
    Observation,
    plain_csv,
    sdmx_csv,
    sdmx_json,
)
from recnet.schemas.statistics import AGENCY, CODELISTS, DATAFLOW_ID, DIMENSIONS, DSD_ID, VERSION
from tests.sdmx_standards import assert_valid_json_data_2, read_json_data_2

PREPARED = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)


def cells(n: int, comment_size: int = 0) -> list[Observation]:
    """n distinct cells sorted by series; every tenth withheld; with ``comment_size``, each cell
    has its own comment of that length (so SDMX-JSON's structure part grows with n)."""
    codes = [sorted(CODELISTS[d].ids()) for d in DIMENSIONS[:-1]]
    periods = [str(year) for year in range(2000, 2030)]
    result = []
    for i, key in enumerate(itertools.islice(itertools.product(*codes, periods), n)):
        withheld = i % 10 == 0
        comment = f"{i:06d}" + "x" * max(comment_size - 6, 0) if comment_size else None
        result.append(
            Observation(
                key, None if withheld else i, "A", "C" if withheld else "F", comment=comment
            )
        )
    return result


def json_encoder(
    form: str, version: JsonVersion = "1.0"
) -> Callable[[list[Observation]], Iterator[bytes]]:
    return lambda observations: sdmx_json(
        observations,
        message_id="big",
        prepared=PREPARED,
        dimension_at_observation=form,
        sorted_by_series=form == "TIME_PERIOD",
        version=version,
    )


def sdmx1_structure() -> v30.Dataflow:
    agency = common.Agency(id=AGENCY)
    dsd = v30.DataStructureDefinition(id=DSD_ID, maintainer=agency, version=VERSION)
    for order, dimension in enumerate(DIMENSIONS):
        dsd.dimensions.getdefault(dimension, order=order)
    dsd.measures.getdefault("OBS_VALUE")
    for attribute in ATTRIBUTES:
        dsd.attributes.getdefault(attribute)
    return v30.Dataflow(id=DATAFLOW_ID, maintainer=agency, version=VERSION, structure=dsd)


def assert_sdmx1_reads_json(body: bytes, expected: list[Observation]) -> None:
    values = sdmx.to_pandas(sdmx.read_sdmx(io.BytesIO(body)))
    assert len(values) == len(expected)
    for cell in expected:
        got = values.loc[cell.key]
        assert math.isnan(got) if cell.value is None else got == cell.value


def assert_json_reads(body: bytes, expected: list[Observation], version: JsonVersion) -> None:
    if version == "1.0":
        assert_sdmx1_reads_json(body, expected)
        return
    message = json.loads(body)
    assert_valid_json_data_2(message)
    got = read_json_data_2(message)
    assert {k: (o["OBS_VALUE"], o["COMMENT"]) for k, o in got.items()} == {
        c.key: (c.value, c.comment) for c in expected
    }


def assert_sdmx1_reads_csv(body: bytes, expected: list[Observation]) -> None:
    message = sdmx.read_sdmx(io.BytesIO(body), format="csv", structure=sdmx1_structure())
    frame = sdmx.to_pandas(message, attributes="o", dtype=None)
    assert len(frame) == len(expected)
    for cell in expected:
        row = frame.loc[cell.key]
        assert row["value"] == ("" if cell.value is None else str(cell.value))
        assert row["CONF_STATUS"] == cell.conf_status


def assert_csv_reads(body: bytes, expected: list[Observation]) -> None:
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert len(rows) == len(expected)
    for row, cell in zip(rows, expected, strict=True):
        assert tuple(row[d] for d in DIMENSIONS) == cell.key
        assert row["OBS_VALUE"] == ("" if cell.value is None else str(cell.value))
    frame = pd.read_csv(io.BytesIO(body))
    assert frame["OBS_VALUE"].isna().tolist() == [c.value is None for c in expected]


@pytest.mark.parametrize("version", ["1.0", "2.0"])
@pytest.mark.parametrize("form", ["AllDimensions", "TIME_PERIOD"])
def test_sdmx_json_is_whole_wherever_the_chunk_boundary_falls(
    form: str, version: JsonVersion
) -> None:
    # About 25 bytes an observation: sizes from one chunk to eight, in steps smaller than the
    # structure part, so the boundary falls before, inside and after it.
    encode = json_encoder(form, version)
    for n in range(1_000, 10_000, 97):
        expected = cells(n)
        chunks = list(encode(expected))
        body = b"".join(chunks)
        message = json.loads(body)  # whole: no part lost, nothing cut
        data = message["dataSets"][0] if version == "1.0" else message["data"]["dataSets"][0]
        count = (
            len(data["observations"])
            if form == "AllDimensions"
            else sum(len(s["observations"]) for s in data["series"].values())
        )
        assert count == n
        structure = message["structure"] if version == "1.0" else message["data"]["structures"][0]
        assert structure["dimensions"]
        assert all(chunks), "an empty chunk"
    assert_json_reads(body, expected, version)


@pytest.mark.parametrize("version", ["1.0", "2.0"])
@pytest.mark.parametrize("form", ["AllDimensions", "TIME_PERIOD"])
def test_sdmx_json_structure_larger_than_a_chunk_is_not_lost(
    form: str, version: JsonVersion
) -> None:
    # Few observations, each with its own long comment: the structure part (which lists every
    # comment) alone is several chunks. This message came back as 0 bytes.
    for n in (3, 40, 200, 900):
        expected = cells(n, comment_size=400)
        body = b"".join(json_encoder(form, version)(expected))
        assert len(body) > n * 400
        message = json.loads(body)
        structure = message["structure"] if version == "1.0" else message["data"]["structures"][0]
        comments = next(a for a in structure["attributes"]["observation"] if a["id"] == "COMMENT")
        assert len(comments["values"]) == n
        assert_json_reads(body, expected, version)


@pytest.mark.parametrize(
    ("encode", "read"),
    [(sdmx_csv, assert_sdmx1_reads_csv), (plain_csv, assert_csv_reads)],
    ids=["sdmx-csv", "plain-csv"],
)
def test_csv_formats_are_whole_far_past_the_chunk_size(
    encode: Callable[[list[Observation]], Iterator[bytes]],
    read: Callable[[bytes, list[Observation]], None],
) -> None:
    for n in (1, 700, 1_601, 9_999, 30_000):
        expected = cells(n, comment_size=20)
        chunks = list(encode(expected))
        assert all(chunks)
        body = b"".join(chunks)
        if n > 5_000:
            assert len(body) > 20 * CHUNK_SIZE
        read(body, expected)


def test_sdmx1_reads_json_many_chunks_long() -> None:
    expected = cells(60_000)
    for form in ("AllDimensions", "TIME_PERIOD"):
        body = b"".join(json_encoder(form)(expected))
        assert len(body) > 30 * CHUNK_SIZE
        assert_sdmx1_reads_json(body, expected)


# --- Over the ASGI app: the real routes, a real import, the caller's view -------------------------


def _import_rows(tenant: str) -> list[dict[str, Any]]:
    """Every SEX x AGE x COUNTERPART_AREA cell of ten years, each with a long comment of its own
    (so the SDMX-JSON structure part alone is hundreds of KiB), some counts small."""
    rows = []
    for i, (sex, age, area, year) in enumerate(
        itertools.product(
            ("F", "M"),
            ("Y0T4", "Y5T11", "Y12T17", "Y18T59"),
            ("SYR", "IRQ", "AFG"),
            range(2015, 2025),
        )
    ):
        rows.append(
            {
                "REF_AREA": tenant,
                "INDICATOR": "RETURNED",
                "SEX": sex,
                "AGE": age,
                "COUNTERPART_AREA": area,
                "TIME_PERIOD": str(year),
                "OBS_VALUE": (i * 37) % 90 if i % 9 else 2,
                "COMMENT": f"{tenant}-{i:05d} " + "Данные министерства. " * 22,
            }
        )
    return rows


@pytest.fixture
def imported(client: Any, database: Any) -> int:
    from recnet.auth.principal import Role
    from tests.factories import bearer, client_for_role, get_token

    headers = bearer(get_token(client, client_for_role(database, Role.member_state, "UZB")))
    rows = _import_rows("UZB")
    response = client.post(
        "/v1/statistics/observations", json={"observations": rows}, headers=headers
    )
    assert response.status_code == 200, response.text
    return len(rows)


def _json_api(client: Any, headers: dict[str, str]) -> dict[tuple[str, ...], Any]:
    figures: dict[tuple[str, ...], Any] = {}
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 10_000, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/statistics/observations", params=params, headers=headers).json()
        for item in page["items"]:
            figures[tuple(item[d] for d in DIMENSIONS)] = item["OBS_VALUE"]
        if not (cursor := page["next_cursor"]):
            return figures


@pytest.mark.parametrize("who", ["anonymous", "owner"])
def test_every_streamed_route_gives_the_whole_message(
    client: Any, database: Any, imported: int, who: str
) -> None:
    from recnet.auth.principal import Role
    from tests.factories import bearer, client_for_role, get_token

    headers = (
        {}
        if who == "anonymous"
        else bearer(get_token(client, client_for_role(database, Role.member_state, "UZB")))
    )
    expected = _json_api(client, headers)
    # Reported cells only; the owner sees them exact, anonymous readers some withheld.
    assert len(expected) == imported
    assert (None in expected.values()) == (who == "anonymous")
    requests = {
        "sdmx-json flat": ("/v1/statistics/observations", {"format": "sdmx-json"}),
        "sdmx-json series": (
            "/v1/sdmx/data/RR_STATS/all",
            {"dimensionAtObservation": "TIME_PERIOD", "format": "sdmx-json"},
        ),
        "sdmx-csv": ("/v1/statistics/observations", {"format": "sdmx-csv"}),
        "csv": ("/v1/statistics/observations", {"format": "csv"}),
        "csv by period": (
            "/v1/statistics/observations",
            {"format": "csv", "end_period": "2024-12"},
        ),
        "sdmx-ml generic": ("/v1/sdmx/data/RR_STATS/all", {"format": "genericdata"}),
        "sdmx-ml structure-specific": (
            "/v1/sdmx/data/RR_STATS/all",
            {"format": "structurespecificdata"},
        ),
        "sdmx-ml generic gzip": ("/v1/sdmx/data/RR_STATS/all", {"format": "genericdata"}),
        "sdmx-json-2 series": ("/v1/sdmx/data/RR_STATS/all", {}),
        "sdmx-json-2 flat": (
            "/v1/sdmx/data/RR_STATS/all",
            {"dimensionAtObservation": "AllDimensions"},
        ),
    }
    for name, (url, params) in requests.items():
        extra = {"Accept-Encoding": "gzip"} if name.endswith("gzip") else {}
        if name.startswith("sdmx-json-2"):
            extra["Accept"] = SDMX_JSON_2
        response = client.get(url, params=params, headers={**headers, **extra})
        if extra:
            assert response.headers["content-encoding"] == "gzip"
        assert response.status_code == 200, (name, response.text[:300])
        body = response.content
        assert len(body) > 5 * CHUNK_SIZE, name
        if name.startswith("sdmx-json-2"):
            assert response.headers["content-type"] == SDMX_JSON_2
            message = json.loads(body)
            assert_valid_json_data_2(message)
            got = {k: o["OBS_VALUE"] for k, o in read_json_data_2(message).items()}
        elif name.startswith("sdmx-json"):
            series = sdmx.to_pandas(sdmx.read_sdmx(io.BytesIO(body)))
            got = {k: (None if math.isnan(v) else int(v)) for k, v in series.items()}
        elif name.startswith("sdmx-ml"):
            structure = _sdmx1_dsd() if "specific" in name else None
            series = sdmx.to_pandas(sdmx.read_sdmx(io.BytesIO(body), structure=structure).data[0])
            names = list(series.index.names)
            got = {
                tuple(k[names.index(d)] for d in DIMENSIONS): (None if math.isnan(v) else int(v))
                for k, v in series.items()
            }
        elif name == "sdmx-csv":
            message = sdmx.read_sdmx(io.BytesIO(body), format="csv", structure=sdmx1_structure())
            frame = sdmx.to_pandas(message, attributes="o", dtype=None)
            got = {k: (int(v) if v else None) for k, v in frame["value"].items()}
        else:
            rows = list(csv.DictReader(io.StringIO(body.decode())))
            got = {
                tuple(r[d] for d in DIMENSIONS): (int(r["OBS_VALUE"]) if r["OBS_VALUE"] else None)
                for r in rows
            }
        assert got == expected, name


# --- SDMX-ML data and SDMX-CSV 1.0 ---------------------------------------------------------------


def _sdmx1_dsd() -> Any:
    from recnet.formats.sdmx.ml_structure import structure_xml
    from recnet.services.sdmx_structures import resolve

    body = structure_xml(
        resolve("datastructure", references="children"),
        message_id="s",
        prepared=PREPARED,
        base="http://x",
    )
    return sdmx.read_sdmx(io.BytesIO(body)).structure["RR_STATS"]


@pytest.mark.parametrize("form", ["TIME_PERIOD", "AllDimensions"])
@pytest.mark.parametrize("kind", ["generic", "structure-specific"])
def test_sdmx_ml_data_is_whole_far_past_the_chunk_size(kind: str, form: str) -> None:
    import pysdmx.io

    from recnet.formats.sdmx.ml_data import generic_data, structure_specific_data

    write = generic_data if kind == "generic" else structure_specific_data
    expected = cells(20_000, comment_size=12)
    chunks = list(write(expected, message_id="big", prepared=PREPARED,
                        dimension_at_observation=form))  # fmt: skip
    assert len(chunks) > 20
    assert all(chunks)
    assert max(len(c) for c in chunks) < 2 * CHUNK_SIZE
    body = b"".join(chunks)
    # sdmx1 (with the structure for structure-specific data) and pysdmx read it whole.
    structure = _sdmx1_dsd() if kind == "structure-specific" else None
    values = sdmx.to_pandas(sdmx.read_sdmx(io.BytesIO(body), structure=structure).data[0])
    names = list(values.index.names)
    got = {tuple(key[names.index(d)] for d in DIMENSIONS): value for key, value in values.items()}
    assert len(got) == len(expected)
    for cell in expected:
        value = got[cell.key]
        assert math.isnan(value) if cell.value is None else value == cell.value
    frame = pysdmx.io.read_sdmx(body.decode()).data[0].data
    assert len(frame) == len(expected)


def test_sdmx_csv_1_is_whole_far_past_the_chunk_size() -> None:
    from recnet.formats.sdmx import sdmx_csv_1

    expected = cells(30_000, comment_size=20)
    body = b"".join(sdmx_csv_1(expected))
    assert len(body) > 20 * CHUNK_SIZE
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert len(rows) == len(expected)
    assert {r["DATAFLOW"] for r in rows} == {"RECNET:RR_STATS(1.0)"}
    for row, cell in zip(rows, expected, strict=True):
        assert tuple(row[d] for d in DIMENSIONS) == cell.key
        assert row["OBS_VALUE"] == ("" if cell.value is None else str(cell.value))


@pytest.mark.parametrize("kind", ["generic", "structure-specific"])
def test_sdmx_ml_data_streams_lazily(kind: str) -> None:
    from recnet.formats.sdmx.ml_data import generic_data, structure_specific_data

    write = generic_data if kind == "generic" else structure_specific_data
    source = iter(cells(20_000))
    taken = 0

    def counted() -> Iterator[Observation]:
        nonlocal taken
        for cell in source:
            taken += 1
            yield cell

    chunks = write(counted(), message_id="lazy", prepared=PREPARED)
    next(chunks)
    # The first chunk leaves after a fraction of the observations has been read.
    assert 0 < taken < 20_000
    assert sum(1 for _ in chunks) > 10
    assert taken == 20_000
