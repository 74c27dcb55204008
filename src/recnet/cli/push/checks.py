"""Checking practices and programmes before they are sent: each item against the JSON Schema of
its kind's create shape, as the service publishes it at ``/v1/schemas/{kind}``.

The schema comes from the server being pushed to, so the check follows that server's version of
the shared schema rather than the client's. Problems are reported by item (counted from 1, as a
person reads the file) and by the path of the failing field inside the item.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from recnet.cli.push.client import PushError

MAX_MESSAGE = 240


@dataclass(frozen=True)
class Problem:
    """One failing field of one item."""

    item: int  # from 1
    source_ref: str
    path: str
    message: str

    def __str__(self) -> str:
        where = self.path or "(the item)"
        return f"item {self.item} ({self.source_ref}): {where}: {self.message}"


def _message(text: str) -> str:
    # An enum's message lists every allowed code; the published vocabularies list them better.
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def problems(schema: dict[str, Any], items: Sequence[dict[str, Any]]) -> list[Problem]:
    """Every problem of every item, item by item, field by field."""
    try:
        # Untyped: imported by name, as files.py imports openpyxl.
        jsonschema: Any = importlib.import_module("jsonschema")
    except ImportError:
        raise PushError("checking needs jsonschema: pip install 'jsonschema>=4.20'") from None
    draft = jsonschema.Draft202012Validator
    validator = draft(schema, format_checker=draft.FORMAT_CHECKER)
    found: list[Problem] = []
    for number, item in enumerate(items, start=1):
        errors = sorted(validator.iter_errors(item), key=lambda e: [str(p) for p in e.path])
        for error in errors:
            path = "/".join(str(part) for part in error.absolute_path)
            found.append(
                Problem(number, str(item.get("source_ref", "")), path, _message(error.message))
            )
    return found
