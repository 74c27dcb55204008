"""The JSON log lines: plain text for machines, and no per-connection noise from Alembic."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from recnet.logs import JsonFormatter, configure_logging


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The service's logging set up, writing to a buffer instead of stderr; undone afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    written = io.StringIO()
    monkeypatch.setattr(sys, "stderr", written)
    configure_logging("INFO")
    try:
        yield written
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def test_uvicorn_colour_copy_of_a_message_is_left_out() -> None:
    # What uvicorn logs at start: the message, and a copy of it with terminal colours.
    record = logging.makeLogRecord(
        {
            "name": "uvicorn.error",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "Started server process [%d]",
            "args": (42,),
            "color_message": "Started server process [\x1b[36m%d\x1b[0m]",
        }
    )
    line = JsonFormatter().format(record)
    assert "\x1b" not in line
    assert "\\u001b" not in line
    entry = json.loads(line)
    assert entry["message"] == "Started server process [42]"
    assert "color_message" not in entry


def test_colour_codes_written_into_a_message_or_extra_are_removed() -> None:
    record = logging.makeLogRecord(
        {
            "name": "somewhere",
            "levelno": logging.WARNING,
            "levelname": "WARNING",
            "msg": "\x1b[1mbold\x1b[0m and \x1b[31;1mred\x1b[0m",
            "detail": "\x1b[32mgreen\x1b[0m",
        }
    )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "bold and red"
    assert entry["detail"] == "green"


def test_opening_a_migration_context_logs_nothing(
    configured: io.StringIO,
) -> None:
    # What the readiness probe does on every call.
    engine = create_engine("sqlite://")
    with engine.connect() as connection:
        for _ in range(3):
            MigrationContext.configure(connection).get_current_revision()
    engine.dispose()
    logging.getLogger("alembic.runtime.migration").info("Running upgrade %s -> %s", "a", "b")
    lines = [json.loads(line) for line in configured.getvalue().splitlines()]
    assert [entry["message"] for entry in lines] == ["Running upgrade a -> b"]
