"""Idempotency keys: the first answer to a POST, kept for 24 hours and replayed on a retry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Integer, LargeBinary
from sqlmodel import Field, SQLModel

from recnet.models.types import JSONDocument, UTCDateTime


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_keys"

    # Who sent it (client id, or address for anonymous callers) and the key they chose.
    owner: str = Field(max_length=80, primary_key=True)
    key: str = Field(max_length=255, primary_key=True)
    method: str = Field(max_length=8)
    path: str = Field(max_length=500)
    request_hash: str = Field(max_length=64)
    # Null while the first request is still being answered.
    status: int | None = Field(default=None, sa_column=Column(Integer))
    headers: dict[str, str] | None = Field(default=None, sa_column=Column(JSONDocument))
    body: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
