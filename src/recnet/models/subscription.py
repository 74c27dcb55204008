"""Webhook subscriptions (a client's callback, its cursor in the event log, its lease) and the
log of delivery attempts."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from recnet.clock import utcnow
from recnet.models.types import JSONDocument, UTCDateTime


class Subscription(SQLModel, table=True):
    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_due", "status", "next_attempt_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: str = Field(
        sa_column=Column(
            String(64), ForeignKey("api_clients.client_id"), nullable=False, index=True
        )
    )
    callback_url: str = Field(max_length=2000)
    kinds: list[str] = Field(sa_column=Column(JSONDocument, nullable=False))
    description: str | None = Field(default=None, max_length=500)
    # The signing secret, encrypted with the server secret (see auth/secrets.py).
    secret: str = Field(sa_column=Column(Text, nullable=False))
    # active, failing (retries exhausted) or disabled (its client was disabled).
    status: str = Field(default="active", max_length=16)
    # The last event seq delivered (or skipped as invisible to the subscriber).
    delivered_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    # Failed attempts at the event after the cursor, since failing_since.
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    failing_since: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # The lease: the worker holding the subscription, until when.
    locked_by: str | None = Field(default=None, max_length=64)
    locked_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Delivery(SQLModel, table=True):
    """One attempt to deliver one event to one subscription."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_subscription", "subscription_id", "attempted_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    subscription_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("subscriptions.id", ondelete="CASCADE"), nullable=False)
    )
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    attempt: int = Field(sa_column=Column(Integer, nullable=False))
    status_code: int | None = Field(default=None)
    error: str | None = Field(default=None, max_length=500)
    attempted_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    next_retry_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
