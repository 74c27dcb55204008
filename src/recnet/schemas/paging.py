"""Paging: the one cursor type of recnet's lists.

A cursor is opaque to clients: the position after the last item of a page (the keyset values of
that item, or an offset), as compact JSON in URL-safe base64 without padding. Decoding checks the
cursor is well formed and of the shape the list gave out; whatever is wrong with one (not base64,
not JSON, another shape, tampered values), the answer is the same problem, so a client learns
nothing from it but that it must start again from the first page.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, overload

from recnet.errors import ValidationProblem

# A position in a list: the keyset values of the last item given, in order, or named values.
Position = list[Any] | dict[str, Any]

CURSOR_REFUSED = "The cursor is not one this service gave out."


def cursor_refused() -> ValidationProblem:
    """The problem a cursor this service did not give out (or not in this form) is answered with."""
    return ValidationProblem(CURSOR_REFUSED)


def encode_cursor(position: Position) -> str:
    """The opaque cursor of ``position`` (values JSON cannot hold are written as strings)."""
    raw = json.dumps(position, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@overload
def decode_cursor(cursor: str, shape: type[dict[str, Any]]) -> dict[str, Any]: ...


@overload
def decode_cursor(cursor: str, shape: type[list[Any]]) -> list[Any]: ...


def decode_cursor(cursor: str, shape: type[Position]) -> Position:
    """The position ``cursor`` holds, which must be a JSON ``shape`` (list or dict); else the
    cursor-refused problem. The values inside are the list's to check."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        decoded = None
    if not isinstance(decoded, shape):
        raise cursor_refused()
    return decoded
