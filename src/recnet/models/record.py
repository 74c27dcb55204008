"""Shared records: good practices and programmes, owned by a member state (the tenant).

Both kinds live in one table and share one mechanism (versions, markings, events); the kind's own
fields are the JSON document ``data``, validated by the kind's schema before it is written.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from recnet.clock import utcnow
from recnet.models.types import JSONDocument, UTCDateTime
from recnet.schemas.vocabularies import RECORD_KINDS, RecordStatus, TlpMarking

TLP_MARKINGS = tuple(t.value for t in TlpMarking)
STATUSES = tuple(s.value for s in RecordStatus)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Record(SQLModel, table=True):
    __tablename__ = "records"
    __table_args__ = (
        CheckConstraint(_in("kind", RECORD_KINDS), name="ck_records_kind"),
        CheckConstraint(_in("tlp", TLP_MARKINGS), name="ck_records_tlp"),
        CheckConstraint(_in("status", STATUSES), name="ck_records_status"),
        UniqueConstraint("kind", "tenant", "source_ref", name="uq_records_source_ref"),
        Index("ix_records_kind_updated", "kind", "updated_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: str = Field(max_length=16)
    tenant: str = Field(
        sa_column=Column(String(3), ForeignKey("organisations.code"), nullable=False, index=True)
    )
    source_ref: str | None = Field(default=None, max_length=200)
    version: int = Field(default=1)
    status: str = Field(default="draft", max_length=16)
    tlp: str = Field(max_length=16)
    data: dict[str, Any] = Field(sa_column=Column(JSONDocument, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class RecordTag(SQLModel, table=True):
    """The controlled-vocabulary codes of a record (approach, target group, language ...), one row
    each, so every list filter is an indexed lookup on both databases."""

    __tablename__ = "record_tags"
    __table_args__ = (Index("ix_record_tags_lookup", "name", "value", "record_id"),)

    record_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("records.id"), primary_key=True, nullable=False)
    )
    name: str = Field(max_length=32, primary_key=True)
    value: str = Field(max_length=64, primary_key=True)
    # Repeated from the record, for row-level security on PostgreSQL.
    tenant: str = Field(sa_column=Column(String(3), nullable=False))
