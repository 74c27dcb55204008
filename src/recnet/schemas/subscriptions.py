"""Wire types of webhook subscriptions and their delivery attempts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field

from recnet.schemas.common import Input, ReadModel
from recnet.schemas.feeds import FeedKind


class SubscriptionInput(Input):
    """A callback for the change feed: every item of these kinds is POSTed to it, signed."""

    callback_url: Annotated[
        str,
        Field(
            min_length=1,
            max_length=2_000,
            description="An https URL on a public address; every item is POSTed to it as JSON.",
        ),
    ]
    kinds: Annotated[list[FeedKind], Field(min_length=1, max_length=3)]
    description: Annotated[str | None, Field(max_length=500)] = None


class Subscription(ReadModel):
    id: uuid.UUID
    callback_url: str
    kinds: list[str]
    description: str | None
    status: str = Field(
        description="active; failing (retries exhausted: deliveries stopped); "
        "disabled (the client was disabled)."
    )
    delivered_seq: int = Field(description="The last event delivered (or passed over).")
    next_attempt_at: datetime | None = Field(description="When a failed delivery is next retried.")
    created_at: datetime


class CreatedSubscription(Subscription):
    secret: str | None = Field(
        default=None,
        description="Shown once. X-Recnet-Signature is t=<X-Recnet-Timestamp>,v1=<hex "
        'HMAC-SHA256 with this secret of "<timestamp>.<body>">. Absent from an answer replayed '
        "for a retry with the same Idempotency-Key (Idempotent-Replayed: true): the secret is "
        "never stored; if the first answer was lost, delete the subscription and create it again.",
    )


class Delivery(ReadModel):
    """One attempt to deliver one event."""

    seq: int = Field(description="The event (also sent as X-Recnet-Event).")
    attempt: int = Field(description="1 for the first attempt at this event, then 2, 3…")
    status_code: int | None = Field(description="The receiver's answer, if it answered.")
    error: str | None = Field(description="Why there was no answer (timeout, refused, …).")
    attempted_at: datetime
    next_retry_at: datetime | None
