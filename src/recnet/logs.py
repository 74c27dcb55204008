"""Structured logging: one JSON object per line, every line tagged with its request id.

The lines are for machines: no terminal colour codes (uvicorn attaches a coloured copy of some
messages, ``color_message``, which is left out), and no announcement that Alembic makes each
time a migration context is opened (the readiness probe opens one on every call).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# Extras that are a terminal's rendering of the message, not data.
_TERMINAL_ONLY = {"color_message"}
# ANSI escape sequences (CSI: colours, cursor moves), which some libraries write into messages.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


def _plain(value: object) -> object:
    return _ANSI.sub("", value) if isinstance(value, str) else value


class AlembicContextFilter(logging.Filter):
    """Drops Alembic's "Context impl ..." and "Will assume ... DDL." lines: said each time a
    migration context is opened, which the readiness probe does on every call. What a
    migration does ("Running upgrade ...") still passes."""

    _ANNOUNCEMENTS = frozenset({"Context impl %s.", "Will assume %s DDL.", "Generating static SQL"})

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg not in self._ANNOUNCEMENTS


_alembic_filter = AlembicContextFilter()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": _plain(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        # Fields passed with extra={...} become keys of their own.
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key not in _TERMINAL_ONLY and key not in entry:
                entry[key] = _plain(value)
        if record.exc_info:
            entry["exception"] = _plain(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's own loggers go through the same JSON handler; its access log is replaced by ours.
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # On the logger itself: a filter on a handler would not see records of loggers below it.
    alembic = logging.getLogger("alembic.runtime.migration")
    if _alembic_filter not in alembic.filters:
        alembic.addFilter(_alembic_filter)
