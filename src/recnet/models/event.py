"""The append-only event log: every accepted change, chained by hashes.

The same log is the audit trail, the record history, the change feed and the webhook queue.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, String
from sqlmodel import Field, SQLModel

from recnet.models.types import JSONDocument, UTCDateTime


class Event(SQLModel, table=True):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_record", "record_id", "seq"),)

    # Assigned under a lock at append time, so sequence order is commit order.
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    occurred_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    actor_client: str | None = Field(default=None, max_length=64)
    actor_organisation: str | None = Field(default=None, max_length=16)
    tenant: str | None = Field(default=None, sa_column=Column(String(3), index=True))
    kind: str = Field(max_length=16)
    record_id: uuid.UUID | None = Field(default=None)
    version: int | None = Field(default=None)
    action: str = Field(max_length=32)
    tlp: str | None = Field(default=None, max_length=16)
    status: str | None = Field(default=None, max_length=16)
    payload: dict[str, Any] = Field(sa_column=Column(JSONDocument, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


# SQLite has no privileges: triggers keep the log append-only there. (On PostgreSQL the
# application role is granted only SELECT and INSERT on it.)
SQLITE_APPEND_ONLY = {
    "events_no_update": "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
    "BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END",
    "events_no_delete": "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
    "BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END",
}
