"""The official SDMX schemas beside the project (../shared/standards), loaded once for the tests."""

from __future__ import annotations

import functools
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
