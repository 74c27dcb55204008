"""The official SDMX schemas beside the project (../shared/standards), loaded once for the tests."""

from __future__ import annotations

import functools
import itertools
import json
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from lxml import etree

STANDARDS = Path(__file__).resolve().parents[2] / "shared" / "standards"


@functools.cache
def _xml_schema() -> etree.XMLSchema:
    path = STANDARDS / "sdmx-ml-2.1" / "schemas" / "SDMXMessage.xsd"
    if not path.is_file():
        pytest.skip(f"the SDMX-ML 2.1 schemas are absent ({path})")
    return etree.XMLSchema(etree.parse(str(path)))


def assert_valid_sdmx_ml(body: bytes) -> etree._Element:
    """Parse an SDMX-ML 2.1 message and validate it against the official XSDs."""
    document = etree.fromstring(body)
    schema = _xml_schema()
    if not schema.validate(document):
        errors = "\n".join(str(e) for e in list(schema.error_log)[:10])
        raise AssertionError(f"SDMX-ML message does not validate:\n{errors}")
    return document


@functools.cache
def _json_validator(name: str) -> jsonschema.Validator:
    path = STANDARDS / name
    if not path.is_file():
        pytest.skip(f"the SDMX-JSON schema is absent ({path})")
    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft4Validator)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def assert_valid_json(message: Any, schema: str) -> None:
    """Validate against an official SDMX-JSON schema (path under the standards folder)."""
    errors = sorted(_json_validator(schema).iter_errors(message), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


@functools.cache
def _structure_specific_schema(dataflow_xsd: bytes) -> etree.XMLSchema:
    """The SDMX-ML 2.1 message schemas together with a dataflow's structure-specific schema (as
    the service's schema query gives it), which imports them from beside itself."""
    folder = Path(tempfile.mkdtemp(prefix="sdmx-xsd-"))
    schemas = STANDARDS / "sdmx-ml-2.1" / "schemas"
    if not schemas.is_dir():
        pytest.skip(f"the SDMX-ML 2.1 schemas are absent ({schemas})")
    for path in schemas.iterdir():
        (folder / path.name).symlink_to(path)
    (folder / "dataflow.xsd").write_bytes(dataflow_xsd)
    namespace = etree.fromstring(dataflow_xsd).get("targetNamespace")
    (folder / "all.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:recnet:tests">'
        '<xs:import namespace="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message" '
        'schemaLocation="SDMXMessage.xsd"/>'
        f'<xs:import namespace="{namespace}" schemaLocation="dataflow.xsd"/></xs:schema>'
    )
    return etree.XMLSchema(etree.parse(str(folder / "all.xsd")))


def assert_valid_structure_specific(body: bytes, dataflow_xsd: bytes) -> etree._Element:
    """Validate a structure-specific data message against the official XSDs and the dataflow's
    own schema."""
    document = etree.fromstring(body)
    schema = _structure_specific_schema(dataflow_xsd)
    if not schema.validate(document):
        errors = "\n".join(str(e) for e in list(schema.error_log)[:10])
        raise AssertionError(f"structure-specific message does not validate:\n{errors}")
    return document


def assert_valid_json_data(message: dict[str, Any]) -> None:
    """Validate an SDMX-JSON 1.0 data message against the official schema, with its parts where
    the schema lays them out (``meta``; ``data: {structure, dataSets}``: see test_sdmx_formats)."""
    laid_out = {
        "meta": message["header"],
        "data": {"structure": message["structure"], "dataSets": message["dataSets"]},
    }
    assert_valid_json(laid_out, "sdmx-json-1.0/sdmx-json-data-schema.json")


def assert_valid_json_data_2(message: dict[str, Any]) -> None:
    """Validate an SDMX-JSON 2.0 data message against the official schema. The schema requires
    no member at the top, so a message of another shape (1.0's ``header`` and ``dataSets``)
    would pass it: the message is also held to the members the schema defines."""
    assert set(message) == {"meta", "data"}, list(message)
    assert set(message["data"]) == {"dataSets", "structures"}, list(message["data"])
    assert_valid_json(message, "sdmx-json-2.0.0/sdmx-json-data-schema.json")


def read_json_data_2(message: dict[str, Any]) -> dict[tuple[str, ...], dict[str, Any]]:
    """The observations of an SDMX-JSON 2.0 data message, decoded as the standard describes:
    keyed by their dimension values in key order (``keyPosition``), each a map of its measures
    and attributes by id (coded values by id, other values as given, None where absent).

    No SDMX library here reads SDMX-JSON 2.0 data (pysdmx 1.21 has no reader for it; sdmx1 2.28
    takes ``data.structures`` for a single object), so the tests decode it themselves."""
    found: dict[tuple[str, ...], dict[str, Any]] = {}
    for dataset in message["data"]["dataSets"]:
        structure = message["data"]["structures"][dataset["structure"]]
        # Dimensions given once for the data set take their only value.
        fixed = {
            d["keyPosition"]: d["values"][0]["id"]
            for d in structure["dimensions"].get("dataSet", [])
        }
        groups = [("", {"observations": dataset.get("observations", {})})]
        groups += list(dataset.get("series", {}).items())
        for series_key, group in groups:
            base = {**fixed, **_key_values(structure, "series", series_key)}
            for obs_key, array in group.get("observations", {}).items():
                key = {**base, **_key_values(structure, "observation", obs_key)}
                ordered = tuple(key[p] for p in sorted(key))
                assert ordered not in found, f"{ordered} given twice"
                found[ordered] = _observation_2(structure, array)
    return found


def _key_values(structure: dict[str, Any], level: str, key: str) -> dict[int, str]:
    """A series or observation key (``0:3:1``) as the values it indexes, by key position."""
    indices = [int(i) for i in key.split(":")] if key else []
    dimensions = structure["dimensions"].get(level, []) if key else []
    assert len(indices) == len(dimensions), (level, key)
    return {
        d["keyPosition"]: d["values"][i]["id"] for d, i in zip(dimensions, indices, strict=True)
    }


def _observation_2(structure: dict[str, Any], array: list[Any]) -> dict[str, Any]:
    """An observation array: the measures' values, then the attributes' value indices."""
    measures = structure.get("measures", {}).get("observation", [])
    attributes = structure["attributes"].get("observation", [])
    assert len(array) <= len(measures) + len(attributes)
    decoded = {m["id"]: v for m, v in zip(measures, array, strict=False)}
    for attribute, index in itertools.zip_longest(attributes, array[len(measures) :]):
        if index is None:
            decoded[attribute["id"]] = None
        else:
            value = attribute["values"][index]
            decoded[attribute["id"]] = value["id"] if "id" in value else value["value"]
    return decoded
