"""The official SDMX schemas beside the project (../shared/standards), loaded once for the tests."""

from __future__ import annotations

import functools
import json
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
