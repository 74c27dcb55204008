"""Wire shapes of the published reference: vocabularies, JSON Schemas, the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class VocabularyTerm(BaseModel):
    code: str = Field(description="Stable code, as used in records and filters.")
    labels: dict[str, str] = Field(description="Label by language tag (at least en and ru).")


class Vocabulary(BaseModel):
    name: str
    labels: dict[str, str]
    terms: list[VocabularyTerm]


class Vocabularies(BaseModel):
    items: list[Vocabulary]


class KindSchemas(BaseModel):
    """JSON Schemas (2020-12) of one kind's shapes, to validate before pushing."""

    kind: str
    create: dict[str, Any] = Field(description="Body of POST and PUT by-ref.")
    update: dict[str, Any] = Field(description="Body of PATCH: a JSON merge patch of `create`.")
    read: dict[str, Any] = Field(description="What GET answers.")


class AuditEvent(BaseModel):
    seq: int
    occurred_at: datetime
    actor_client: str | None
    actor_organisation: str | None
    tenant: str | None
    kind: str = Field(
        description="practice, programme or statistics: a change; security: something the "
        "secretariat is told of (no tenant, record or marking; in no feed or webhook)."
    )
    record_id: uuid.UUID | None
    version: int | None
    action: str = Field(
        description="What happened. For kind security: token_failures (repeated failed token "
        "requests from one address; at most one per client id and address per failure window)."
    )
    tlp: str | None
    status: str | None
    prev_hash: str
    hash: str
    payload: dict[str, Any] | None = Field(
        description="The record as it was; null for AMBER+STRICT and RED records, which only "
        "their own member state reads. For token_failures: client_id and organisation (only "
        "when the id is a registered client's), client_fingerprint (a keyed hash of the id as "
        "sent, never the id itself), address, failures (client_and_address, address), "
        "threshold, window_seconds, last_in_window (the window's allowance of these events "
        "is spent; further ones are only logged)."
    )
