"""The SDMX encoders of the statistics (recnet.formats.sdmx), checked against the official SDMX-JSON
schemas (1.0 and 2.0), a real SDMX client (sdmx1) and pandas, on generated observations.

The schema file in shared/standards/sdmx-json-1.0 describes the message's top level as ``meta`` and
``data: {structure, dataSets}``, whereas SDMX-JSON 1.0 messages (the sample next to it, sdmx1,
and ours) use ``header``, ``structure`` and ``dataSets``. The schema does not forbid other members,
so validating the message as it is checks nothing; the tests also validate it with its parts
placed where the schema describes them, so that every part meets its definition.
"""

from __future__ import annotations

import copy
import csv
import io
import itertools
import json
import math
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import jsonschema
import pandas as pd
import pytest
import sdmx
from sdmx.model import common, v30

from recnet.formats.sdmx import (
    ATTRIBUTES,
    CHUNK_SIZE,
    PLAIN_CSV_COLUMNS,
    SDMX_CSV,
    SDMX_JSON,
    SDMX_JSON_2,
    Observation,
    neutralise,
    plain_csv,
    sdmx_csv,
    sdmx_json,
)
from recnet.schemas.statistics import (
    AGENCY,
    CODELISTS,
    DATAFLOW_ID,
    DIMENSIONS,
    DSD_ID,
    VERSION,
)
from tests.paths import SHARED
from tests.sdmx_standards import assert_valid_json_data_2, read_json_data_2

STANDARDS = SHARED / "standards"
PREPARED = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
FORMS = ["AllDimensions", "TIME_PERIOD"]

# Free text that a spreadsheet would run as a formula, and what the CSV outputs must hold instead.
FORMULAS = {
    '=HYPERLINK("http://evil.example","x")': '\'=HYPERLINK("http://evil.example","x")',
    "+7 700 000 00 00": "'+7 700 000 00 00",
    "-2+3": "'-2+3",
    "@SUM(A1:A2)": "'@SUM(A1:A2)",
    "\t=1+1": "'\t=1+1",
    "\r=1+1": "'\r=1+1",
}
HARMLESS = [
    "Данные министерства, предварительные",
    'Comma, "quotes" and\na new line',
    "a = b",
    "'already quoted",
]


def observations() -> list[Observation]:
    """A few dozen cells: withheld ones (C, D), every OBS_STATUS, Russian and hostile free text."""
    texts = [*FORMULAS, *HARMLESS]
    cells = []
    combos = itertools.product(
        ["KAZ", "UZB", "CAS"],
        ["RETURNED", "DOCUMENTS_ISSUED"],
        ["F", "M", "_T"],
        ["2024", "2024-Q1"],
    )
    for i, (area, indicator, sex, period) in enumerate(combos):
        conf = "C" if i % 5 == 1 or i % 7 == 3 else "F"
        cells.append(
            Observation(
                # The period varies fastest, so each series holds both periods.
                key=(
                    area,
                    indicator,
                    sex,
                    ["Y0T4", "_T"][i // 2 % 2],
                    ["SYR", "_T"][i // 4 % 2],
                    period,
                ),
                value=None if conf != "F" else i * 3,  # includes a published zero (i = 0)
                obs_status=["A", "E", "P", None][i % 4],
                conf_status=conf,
                comment=texts[i % len(texts)] if i % 3 == 0 else None,
                source="Министерство внутренних дел" if i % 4 == 0 else None,
            )
        )
    return cells


def many(n: int) -> Iterator[Observation]:
    """n distinct cells, sorted by series (the period varies fastest)."""
    codes = [sorted(CODELISTS[d].ids()) for d in DIMENSIONS[:-1]]
    periods = [str(year) for year in range(2000, 2030)]
    for i, key in enumerate(itertools.islice(itertools.product(*codes, periods), n)):
        yield Observation(key, None if i % 10 == 0 else i, "A", "C" if i % 10 == 0 else "F")


def encode_json(cells: Iterable[Observation], **kwargs: Any) -> bytes:
    kwargs.setdefault("message_id", "test-1")
    kwargs.setdefault("prepared", PREPARED)
    return b"".join(sdmx_json(cells, **kwargs))


def published(cell: Observation) -> float:
    return math.nan if cell.value is None else float(cell.value)


# --- SDMX-JSON: the official schema ---------------------------------------------------------------


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    path = STANDARDS / "sdmx-json-1.0" / "sdmx-json-data-schema.json"
    if not path.parent.is_dir():
        pytest.skip(f"the SDMX-JSON 1.0 schema folder {path.parent} is absent")
    schema = json.loads(path.read_text(encoding="utf-8"))
    # Draft 4: the schema identifies itself with "id" and names no draft in "$schema".
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )


def as_schema_lays_out(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "meta": message["header"],
        "data": {"structure": message["structure"], "dataSets": message["dataSets"]},
    }


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_sdmx_json_validates_against_the_official_schema(
    validator: jsonschema.Draft4Validator, form: str, lang: str
) -> None:
    message = json.loads(encode_json(observations(), lang=lang, dimension_at_observation=form))
    validator.validate(message)
    validator.validate(as_schema_lays_out(message))
    # The format checker has no date-time support installed: check the timestamp here.
    assert datetime.fromisoformat(message["header"]["prepared"]) == PREPARED


def test_the_schema_check_is_not_vacuous(validator: jsonschema.Draft4Validator) -> None:
    message = json.loads(encode_json(observations()))
    broken = copy.deepcopy(message)
    broken["dataSets"][0]["observations"]["0:x"] = [1]
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(as_schema_lays_out(broken))
    broken = copy.deepcopy(message)
    del broken["structure"]["dimensions"]["observation"][0]["keyPosition"]
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(as_schema_lays_out(broken))
    # The official sample passes the same check.
    sample = json.loads((STANDARDS / "sdmx-json-1.0" / "sample-exr-flat.json").read_text())
    validator.validate(as_schema_lays_out(sample))


def test_sdmx_json_empty_message_validates(validator: jsonschema.Draft4Validator) -> None:
    for form in FORMS:
        message = json.loads(encode_json([], dimension_at_observation=form))
        validator.validate(as_schema_lays_out(message))


# --- SDMX-JSON 2.0 --------------------------------------------------------------------------------


def encode_json_2(cells: Iterable[Observation], **kwargs: Any) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(encode_json(cells, version="2.0", **kwargs))
    return message


def as_published(cell: Observation) -> dict[str, Any]:
    """A cell as a reader of the message must find it."""
    return {
        "OBS_VALUE": cell.value,
        "OBS_STATUS": cell.obs_status,
        "UNIT_MEASURE": cell.unit,
        "CONF_STATUS": cell.conf_status,
        "COMMENT": cell.comment,
        "SOURCE": cell.source,
    }


@pytest.mark.parametrize("form", [*FORMS, "SEX"])
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_sdmx_json_2_validates_and_carries_every_cell(form: str, lang: str) -> None:
    cells = observations()
    message = encode_json_2(cells, lang=lang, dimension_at_observation=form)
    assert_valid_json_data_2(message)
    assert read_json_data_2(message) == {cell.key: as_published(cell) for cell in cells}
    meta = message["meta"]
    assert meta["schema"].endswith("/2.0.0/sdmx-json-data-schema.json")
    assert meta["contentLanguages"][0] == lang
    assert datetime.fromisoformat(meta["prepared"]) == PREPARED
    (structure,) = message["data"]["structures"]
    assert structure["dataSets"] == [0]
    assert [m["id"] for m in structure["measures"]["observation"]] == ["OBS_VALUE"]
    observed = [d["id"] for d in structure["dimensions"]["observation"]]
    assert observed == (list(DIMENSIONS) if form == "AllDimensions" else [form])


def test_sdmx_json_2_series_keys_only_validates() -> None:
    cells = sorted(observations(), key=lambda c: c.key)
    message = encode_json_2(cells, dimension_at_observation="TIME_PERIOD", series_keys_only=True)
    assert_valid_json_data_2(message)
    series = message["data"]["dataSets"][0]["series"]
    assert len(series) == len({c.key[:-1] for c in cells})
    assert all(s["observations"] == {} for s in series.values())
    # No observation, but the periods the series have are listed (2.0 wants at least one).
    (period,) = message["data"]["structures"][0]["dimensions"]["observation"]
    assert {v["id"] for v in period["values"]} == {c.key[-1] for c in cells}


def test_sdmx_json_2_leaves_out_the_values_of_an_unused_attribute() -> None:
    cells = [
        Observation(("KAZ", "RETURNED", "F", "_T", "SYR", p), 4, "E", "F", source="МВД")
        for p in ("2023", "2024")
    ]
    message = encode_json_2(cells)
    assert_valid_json_data_2(message)
    attributes = {a["id"]: a for a in message["data"]["structures"][0]["attributes"]["observation"]}
    assert "values" not in attributes["COMMENT"]
    assert attributes["SOURCE"]["values"] == [{"value": "МВД"}]
    assert read_json_data_2(message) == {c.key: as_published(c) for c in cells}


def test_sdmx_json_2_schema_check_is_not_vacuous() -> None:
    message = encode_json_2(observations())
    broken = [copy.deepcopy(message) for _ in range(4)]
    broken[0]["data"]["dataSets"][0]["observations"]["0:x"] = [1]
    broken[1]["data"]["structures"][0]["attributes"]["observation"][3]["values"] = []
    broken[2]["data"]["structures"][0]["attributes"]["observation"][0]["relationship"] = {}
    del broken[3]["meta"]["sender"]
    for message in broken:
        with pytest.raises(AssertionError):
            assert_valid_json_data_2(message)
    # A 1.0 message meets every definition the 2.0 schema has, but not its shape.
    with pytest.raises(AssertionError):
        assert_valid_json_data_2(json.loads(encode_json(observations())))
    # The official sample passes the same check.
    sample = json.loads((STANDARDS / "sdmx-json-2.0.0" / "sample-exr-flat.json").read_text())
    assert_valid_json_data_2(sample)


def test_sdmx_json_2_of_no_observation_is_refused_before_any_chunk() -> None:
    chunks = sdmx_json([], message_id="m", prepared=PREPARED, version="2.0")
    with pytest.raises(ValueError, match="at least one observation"):
        next(chunks)
    with pytest.raises(ValueError, match="version"):
        sdmx_json([], message_id="m", prepared=PREPARED, version="3.0")  # type: ignore[arg-type]


def test_sdmx_json_2_names_in_the_requested_language() -> None:
    structure = encode_json_2(observations(), lang="ru")["data"]["structures"][0]
    conf = structure["attributes"]["observation"][2]
    c = next(v for v in conf["values"] if v["id"] == "C")
    assert c["name"].startswith("Конфиденциально")
    assert c["names"]["en"].startswith("Confidential")
    assert structure["measures"]["observation"][0]["name"] == "Значение"


# --- SDMX-JSON: the shape of the message ----------------------------------------------------------


def test_sdmx_json_flat_form_like_the_sample() -> None:
    cells = observations()
    message = json.loads(encode_json(cells))
    assert list(message) == ["header", "dataSets", "structure"]  # structure last: see the module
    assert message["header"] == {
        "id": "test-1",
        "test": False,
        "prepared": "2026-03-01T12:30:00Z",
        "sender": {"id": "RECNET"},
    }
    (dataset,) = message["dataSets"]
    assert dataset["action"] == "Information"
    structure = message["structure"]
    assert structure["dimensions"]["series"] == []
    dims = structure["dimensions"]["observation"]
    assert [d["id"] for d in dims] == list(DIMENSIONS)
    assert [d["keyPosition"] for d in dims] == list(range(6))
    attrs = structure["attributes"]["observation"]
    assert [a["id"] for a in attrs] == list(ATTRIBUTES)
    assert len(dataset["observations"]) == len(cells)
    for cell in cells:
        key = ":".join(
            str([v["id"] for v in dim["values"]].index(code))
            for dim, code in zip(dims, cell.key, strict=True)
        )
        value, *indices = dataset["observations"][key]
        assert value == cell.value
        decoded = [
            None if i is None else attr["values"][i].get("id", attr["values"][i]["name"])
            for attr, i in zip(attrs, indices, strict=True)
        ]
        assert decoded == [cell.obs_status, cell.unit, cell.conf_status, cell.comment, cell.source]


def test_sdmx_json_series_form() -> None:
    cells = observations()
    message = json.loads(encode_json(cells, dimension_at_observation="TIME_PERIOD"))
    structure = message["structure"]
    assert [d["id"] for d in structure["dimensions"]["series"]] == list(DIMENSIONS[:-1])
    assert [d["id"] for d in structure["dimensions"]["observation"]] == ["TIME_PERIOD"]
    series = message["dataSets"][0]["series"]
    assert all(len(key.split(":")) == 5 for key in series)
    assert sum(len(s["observations"]) for s in series.values()) == len(cells)


def test_sdmx_json_names_in_the_requested_language_with_english_fallback() -> None:
    def names(lang: str) -> dict[str, str]:
        body = encode_json(observations(), lang=lang)
        structure = json.loads(body)["structure"]
        area = structure["dimensions"]["observation"][0]
        conf = structure["attributes"]["observation"][2]
        kaz = next(v for v in area["values"] if v["id"] == "KAZ")
        c = next(v for v in conf["values"] if v["id"] == "C")
        return {"area": area["name"], "kaz": kaz["name"], "c": c["name"], "all": str(kaz["names"])}

    ru = names("ru")
    assert ru["kaz"] == "Казахстан"
    assert ru["c"].startswith("Конфиденциально: скрыто контролем раскрытия")
    assert ru["area"] == "Отчётная территория"
    assert names("ru-RU") == ru
    for other in ("en", "kk", "fr-FR"):
        assert names(other)["kaz"] == "Kazakhstan"
        assert names(other)["all"] == "{'en': 'Kazakhstan', 'ru': 'Казахстан'}"
    # Cyrillic is written as UTF-8, not as \\u escapes.
    assert "Казахстан".encode() in encode_json(observations(), lang="ru")


# --- SDMX-JSON: read by sdmx1 ---------------------------------------------------------------------


def read_json_with_sdmx1(body: bytes) -> pd.DataFrame:
    message = sdmx.read_sdmx(io.BytesIO(body))
    assert message.header.id == "test-1"
    frame = sdmx.to_pandas(message, attributes="o")
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.index.names) == list(DIMENSIONS)
    return frame


def assert_same_cells(frame: pd.DataFrame, cells: list[Observation]) -> None:
    assert len(frame) == len(cells)
    for cell in cells:
        row = frame.loc[cell.key]
        if cell.value is None:
            assert math.isnan(row["value"])
        else:
            assert row["value"] == cell.value
        assert row["CONF_STATUS"] == cell.conf_status
        assert (row["OBS_STATUS"] or None) == cell.obs_status
        assert row["UNIT_MEASURE"] == cell.unit
        assert (row["COMMENT"] or None) == cell.comment
        assert (row["SOURCE"] or None) == cell.source


@pytest.mark.parametrize("form", FORMS)
def test_sdmx1_reads_sdmx_json_with_the_published_numbers(form: str) -> None:
    cells = observations()
    assert any(c.value is None for c in cells)
    assert any(c.value == 0 for c in cells)
    frame = read_json_with_sdmx1(encode_json(cells, dimension_at_observation=form))
    assert_same_cells(frame, cells)
    # The plain measure series, the usual to_pandas call, too.
    values = sdmx.to_pandas(sdmx.read_sdmx(io.BytesIO(encode_json(cells))))
    for cell in cells:
        got = values.loc[cell.key]
        assert math.isnan(got) if cell.value is None else got == cell.value


def test_sdmx1_reads_series_form_sorted_and_unsorted() -> None:
    cells = sorted(observations(), key=lambda c: c.key)
    streamed = encode_json(cells, dimension_at_observation="TIME_PERIOD", sorted_by_series=True)
    assert_same_cells(read_json_with_sdmx1(streamed), cells)
    shuffled = cells[::2] + cells[1::2]  # a series' two periods now lie far apart
    grouped = encode_json(shuffled, dimension_at_observation="TIME_PERIOD")
    assert_same_cells(read_json_with_sdmx1(grouped), cells)
    with pytest.raises(ValueError, match="not sorted by series"):
        encode_json(shuffled, dimension_at_observation="TIME_PERIOD", sorted_by_series=True)


def test_sdmx1_keeps_a_later_attribute_when_an_earlier_one_is_unused() -> None:
    # sdmx1 drops an attribute without values and shifts the later ones (see the module).
    cells = [
        Observation(("KAZ", "RETURNED", "F", "_T", "SYR", p), 4, "E", "F", source="МВД")
        for p in ("2023", "2024")
    ]
    assert_same_cells(read_json_with_sdmx1(encode_json(cells)), cells)


# --- SDMX-CSV and plain CSV -----------------------------------------------------------------------


def read_csv_with_pandas(body: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False, encoding="utf-8")


def csv_text(text: str | None) -> str:
    """Free text as the CSV outputs must carry it."""
    return "" if text is None else FORMULAS.get(text, text)


def test_sdmx_csv_read_by_pandas() -> None:
    cells = observations()
    frame = read_csv_with_pandas(b"".join(sdmx_csv(cells)))
    assert list(frame.columns) == [
        "STRUCTURE",
        "STRUCTURE_ID",
        "ACTION",
        *DIMENSIONS,
        "OBS_VALUE",
        "OBS_STATUS",
        "UNIT_MEASURE",
        "CONF_STATUS",
        "COMMENT",
        "SOURCE",
    ]
    assert len(frame) == len(cells)
    assert set(frame["STRUCTURE"]) == {"dataflow"}
    assert set(frame["STRUCTURE_ID"]) == {f"{AGENCY}:{DATAFLOW_ID}({VERSION})"}
    assert set(frame["ACTION"]) == {"I"}
    for cell, (_, row) in zip(cells, frame.iterrows(), strict=True):
        assert tuple(row[list(DIMENSIONS)]) == cell.key
        assert row["OBS_VALUE"] == ("" if cell.value is None else str(cell.value))
        assert row["OBS_STATUS"] == (cell.obs_status or "")
        assert row["CONF_STATUS"] == cell.conf_status
        assert row["UNIT_MEASURE"] == cell.unit
        assert row["COMMENT"] == csv_text(cell.comment)
        assert row["SOURCE"] == csv_text(cell.source)
    # Numbers as a reader would take them: withheld cells are missing.
    numbers = pd.read_csv(io.BytesIO(b"".join(sdmx_csv(cells))))["OBS_VALUE"]
    assert numbers.isna().tolist() == [c.value is None for c in cells]


def test_sdmx_csv_with_labels() -> None:
    cells = observations()
    frame = read_csv_with_pandas(b"".join(sdmx_csv(cells, labels=True, lang="ru")))
    columns = list(frame.columns)
    assert columns[:4] == ["STRUCTURE", "STRUCTURE_ID", "STRUCTURE_NAME", "ACTION"]
    assert columns[columns.index("REF_AREA") + 1] == "Отчётная территория"
    assert columns[columns.index("CONF_STATUS") + 1] == "Статус конфиденциальности"
    name_of = {"KAZ": "Казахстан", "UZB": "Узбекистан", "CAS": "Центральная Азия"}
    assert [name_of[a] for a in frame["REF_AREA"]] == frame["Отчётная территория"].tolist()
    assert frame["Отчётный период"].eq("").all()  # periods are not coded
    english = read_csv_with_pandas(b"".join(sdmx_csv(cells, labels=True)))
    assert "Reference area" in english.columns


def sdmx1_structure() -> v30.Dataflow:
    """RR_STATS as sdmx1 objects: SDMX-CSV carries no structure, so the reader needs it."""
    agency = common.Agency(id=AGENCY)
    dsd = v30.DataStructureDefinition(id=DSD_ID, maintainer=agency, version=VERSION)
    for order, dimension in enumerate(DIMENSIONS):
        dsd.dimensions.getdefault(dimension, order=order)
    dsd.measures.getdefault("OBS_VALUE")
    for attribute in ATTRIBUTES:
        dsd.attributes.getdefault(attribute)
    return v30.Dataflow(id=DATAFLOW_ID, maintainer=agency, version=VERSION, structure=dsd)


@pytest.mark.parametrize("labels", [False, True])
def test_sdmx1_reads_sdmx_csv(labels: bool) -> None:
    cells = observations()
    body = b"".join(sdmx_csv(cells, labels=labels, lang="ru"))
    message = sdmx.read_sdmx(io.BytesIO(body), format="csv", structure=sdmx1_structure())
    (dataset,) = message.data
    assert dataset.action == common.ActionType.information
    # sdmx1 keeps SDMX-CSV values as text and cannot cast the empty value of a withheld cell to
    # float, so the frame is taken without a dtype. (Its reader also splits lines before parsing,
    # dropping new lines inside quoted free text; pandas and the csv module keep them.)
    frame = sdmx.to_pandas(message, attributes="o", dtype=None)
    assert len(frame) == len(cells)
    for cell in cells:
        row = frame.loc[cell.key]
        assert row["value"] == ("" if cell.value is None else str(cell.value))
        assert row["CONF_STATUS"] == cell.conf_status
        assert row["OBS_STATUS"] == (cell.obs_status or "")


def test_plain_csv() -> None:
    cells = observations()
    frame = read_csv_with_pandas(b"".join(plain_csv(cells)))
    assert tuple(frame.columns) == PLAIN_CSV_COLUMNS
    assert list(PLAIN_CSV_COLUMNS) == [
        "REF_AREA",
        "INDICATOR",
        "SEX",
        "AGE",
        "COUNTERPART_AREA",
        "TIME_PERIOD",
        "OBS_VALUE",
        "OBS_STATUS",
        "CONF_STATUS",
        "UNIT_MEASURE",
        "COMMENT",
        "SOURCE",
    ]
    for cell, (_, row) in zip(cells, frame.iterrows(), strict=True):
        assert tuple(row[list(DIMENSIONS)]) == cell.key
        assert row["OBS_VALUE"] == ("" if cell.value is None else str(cell.value))
        assert row["CONF_STATUS"] == cell.conf_status
        assert row["COMMENT"] == csv_text(cell.comment)


def test_empty_csv_is_the_header_alone() -> None:
    assert b"".join(plain_csv([])) == (",".join(PLAIN_CSV_COLUMNS) + "\r\n").encode()
    assert b"".join(sdmx_csv([])).startswith(b"STRUCTURE,STRUCTURE_ID,ACTION,REF_AREA,")


# --- Formula injection ----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [*FORMULAS.items(), *((t, t) for t in HARMLESS)])
def test_neutralise(text: str, expected: str) -> None:
    assert neutralise(text) == expected


@pytest.mark.parametrize(
    "encode",
    [plain_csv, sdmx_csv, lambda cells: sdmx_csv(cells, labels=True, lang="ru")],
    ids=["plain", "sdmx", "sdmx-labels"],
)
def test_csv_outputs_neutralise_formulas(encode: Any) -> None:
    cells = [
        Observation(
            ("KAZ", "RETURNED", "F", "_T", "SYR", str(2000 + i)),
            i,
            "A",
            "F",
            comment=text,
            source=text,
        )
        for i, text in enumerate([*FORMULAS, *HARMLESS])
    ]
    rows = list(csv.reader(io.StringIO(b"".join(encode(cells)).decode(), newline="")))
    header, body = rows[0], rows[1:]
    assert len(body) == len(cells)
    for cell, row in zip(cells, body, strict=True):
        for column in ("COMMENT", "SOURCE"):
            assert row[header.index(column)] == csv_text(cell.comment)
        assert not any(value.startswith(("=", "+", "-", "@", "\t", "\r")) for value in row)


def test_json_keeps_free_text_as_given() -> None:
    # JSON is not opened by spreadsheets: its text is data and stays exact.
    cell = Observation(("KAZ", "RETURNED", "F", "_T", "SYR", "2024"), 1, "A", "F", comment="=1+1")
    message = json.loads(encode_json([cell]))
    assert message["structure"]["attributes"]["observation"][3]["values"] == [{"name": "=1+1"}]


# --- Streaming ------------------------------------------------------------------------------------


class Counted:
    """An iterable that records how many items were taken from it."""

    def __init__(self, items: Iterable[Observation]) -> None:
        self._items = iter(items)
        self.taken = 0

    def __iter__(self) -> Iterator[Observation]:
        for item in self._items:
            self.taken += 1
            yield item


def streamed_json(version: str, **form: Any) -> Any:
    return lambda cells: sdmx_json(
        cells, message_id="big", prepared=PREPARED, version=version, **form
    )


SERIES_SORTED: dict[str, Any] = {
    "dimension_at_observation": "TIME_PERIOD",
    "sorted_by_series": True,
}
ENCODERS = {
    "json-flat": streamed_json("1.0"),
    "json-series-sorted": streamed_json("1.0", **SERIES_SORTED),
    "json-2-flat": streamed_json("2.0"),
    "json-2-series-sorted": streamed_json("2.0", **SERIES_SORTED),
    "sdmx-csv": sdmx_csv,
    "plain-csv": plain_csv,
}


@pytest.mark.slow
@pytest.mark.parametrize("name", ENCODERS)
def test_encoders_stream_chunks_lazily(name: str) -> None:
    n = 10_000
    source = Counted(many(n))
    chunks = ENCODERS[name](source)
    assert isinstance(chunks, Iterator)
    first = next(chunks)
    # The first chunk leaves after a fraction of the observations has been read.
    assert 0 < source.taken < n
    rest = list(chunks)
    assert source.taken == n
    assert len(rest) >= 2
    sizes = [len(c) for c in (first, *rest)]
    # About CHUNK_SIZE characters each (Cyrillic-free here, so bytes == characters).
    assert max(sizes) < 2 * CHUNK_SIZE
    body = first + b"".join(rest)
    if name.startswith("json-2"):
        message = json.loads(body)
        assert_valid_json_data_2(message)
        assert len(read_json_data_2(message)) == n
    elif name.startswith("json"):
        message = json.loads(body)
        data = message["dataSets"][0]
        count = (
            len(data["observations"])
            if "observations" in data
            else sum(len(s["observations"]) for s in data["series"].values())
        )
        assert count == n
    else:
        assert body.count(b"\r\n") == n + 1


def test_series_form_unsorted_still_chunks() -> None:
    # Grouping reads everything first (documented), but the output is still chunked.
    source = Counted(many(10_000))
    chunks = sdmx_json(
        source, message_id="big", prepared=PREPARED, dimension_at_observation="TIME_PERIOD"
    )
    assert len(list(chunks)) > 1


def test_sdmx1_reads_a_large_flat_message() -> None:
    cells = list(many(3_000))
    frame = sdmx.to_pandas(sdmx.read_sdmx(io.BytesIO(encode_json(cells))))
    assert len(frame) == len(cells)
    assert frame.isna().sum() == sum(c.value is None for c in cells)


# --- Arguments and observations -------------------------------------------------------------------


def test_bad_arguments_fail_before_streaming() -> None:
    with pytest.raises(ValueError, match="dimensionAtObservation"):
        sdmx_json([], message_id="m", prepared=PREPARED, dimension_at_observation="COLOUR")
    with pytest.raises(ValueError, match="timezone"):
        sdmx_json([], message_id="m", prepared=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="message id"):
        sdmx_json([], message_id="not valid", prepared=PREPARED)


def test_prepared_is_written_in_utc() -> None:
    almaty = timezone(timedelta(hours=5))
    body = encode_json([], prepared=datetime(2026, 3, 1, 17, 30, tzinfo=almaty))
    assert json.loads(body)["header"]["prepared"] == "2026-03-01T12:30:00Z"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"value": 5, "conf_status": "C"},  # a withheld cell never carries its value
        {"value": None, "conf_status": "D"},  # no longer a status: one (C) for every withheld
        {"value": -1},
        {"value": True},
        {"conf_status": "X"},
        {"obs_status": "Z"},
        {"key": ("KAZ", "RETURNED", "F", "_T", "SYR")},
        {"key": ("=KAZ", "RETURNED", "F", "_T", "SYR", "2024")},
        {"key": ("KAZ", "RETURNED", "F", "_T", "SYR", "2024 Q1")},
        {"unit": "-PS"},
    ],
)
def test_invalid_observations_are_refused(kwargs: dict[str, Any]) -> None:
    fields: dict[str, Any] = {
        "key": ("KAZ", "RETURNED", "F", "_T", "SYR", "2024"),
        "value": 5,
        "obs_status": "A",
        "conf_status": "F",
    }
    with pytest.raises(ValueError):  # noqa: PT011  (each case has its own message)
        Observation(**(fields | kwargs))


def test_media_types() -> None:
    assert SDMX_JSON == "application/vnd.sdmx.data+json;version=1.0.0"
    assert SDMX_JSON_2 == "application/vnd.sdmx.data+json;version=2.0.0"
    assert SDMX_CSV == "application/vnd.sdmx.data+csv;version=2.0.0"
