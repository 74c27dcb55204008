"""Shared records: good practices and programmes, owned by a member state (the tenant).

Both kinds live in one table and share one mechanism (versions, markings, events); the kind's own
fields are the JSON document ``data``, validated by the kind's schema before it is written.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from recnet.db import utcnow
from recnet.models.types import JSONDocument, UTCDateTime

TLP_MARKINGS = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
STATUSES = ("draft", "published", "withdrawn")
KINDS = ("practice", "programme")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Record(SQLModel, table=True):
    __tablename__ = "records"
    __table_args__ = (
        CheckConstraint(_in("kind", KINDS), name="ck_records_kind"),
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
    data: dict[str, object] = Field(sa_column=Column(JSONDocument, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
