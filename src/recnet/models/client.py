"""API clients (machine credentials) and the keys that sign their access tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Text
from sqlmodel import Field, SQLModel

from recnet.clock import utcnow
from recnet.models.types import JSONDocument, UTCDateTime


class ApiClient(SQLModel, table=True):
    __tablename__ = "api_clients"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: str = Field(max_length=64, unique=True, index=True)
    organisation_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("organisations.id"), nullable=False, index=True)
    )
    name: str = Field(max_length=200)
    scopes: list[str] = Field(sa_column=Column(JSONDocument, nullable=False))
    secret_hash: str = Field(max_length=200)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    secret_rotated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    disabled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class SigningKey(SQLModel, table=True):
    """A key pair for access tokens. The newest active key signs; retired keys keep verifying
    until the tokens they signed have expired."""

    __tablename__ = "signing_keys"

    kid: str = Field(max_length=64, primary_key=True)
    algorithm: str = Field(max_length=16)
    # PKCS#8 PEM, encrypted with the server secret (RECNET_SECRET_KEY).
    private_key: str = Field(sa_column=Column(Text, nullable=False))
    public_jwk: dict[str, str] = Field(sa_column=Column(JSONDocument, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    retired_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
