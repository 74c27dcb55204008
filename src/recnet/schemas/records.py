"""What every shared record carries, whatever its kind, on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from recnet.schemas.vocabularies import Language, RecordStatus, TlpMarking

InitialStatus = Literal["draft", "published"]


class RecordMeta(BaseModel):
    """The server's part of every record: identity, ownership, version, marking, status."""

    id: uuid.UUID
    tenant: str = Field(description="ISO 3166-1 alpha-3 of the owning member state.")
    source_ref: str | None
    version: int
    status: RecordStatus
    tlp: TlpMarking
    created_at: datetime
    updated_at: datetime
    languages: list[Language] = Field(description="Languages the record's title is given in.")
    lang: Language | None = Field(
        description="The language chosen for `title` and `summary` (Accept-Language or `lang`)."
    )
    title: str = Field(description="The title in the chosen language.")
    summary: str | None = Field(description="The summary in the chosen language.")


class Version(BaseModel):
    """One version of a record, from the event log."""

    version: int
    action: str
    status: RecordStatus
    tlp: TlpMarking
    at: datetime
    actor_client: str | None
    actor_organisation: str | None
    event: int = Field(description="Sequence number of the event in the log.")


class Versions(BaseModel):
    items: list[Version]


__all__ = ["InitialStatus", "RecordMeta", "Version", "Versions", "uuid"]
