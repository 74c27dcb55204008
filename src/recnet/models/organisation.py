"""Organisations of the network: member states (the tenants), secretariat, partners, researchers."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Column
from sqlmodel import Field, SQLModel

from recnet.clock import utcnow
from recnet.models.types import JSONDocument, UTCDateTime
from recnet.schemas.vocabularies import OrganisationKind


class Organisation(SQLModel, table=True):
    __tablename__ = "organisations"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('member_state', 'secretariat', 'partner', 'researcher')",
            name="ck_organisations_kind",
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # ISO 3166-1 alpha-3 for member states (the tenant code), a short acronym otherwise.
    code: str = Field(max_length=16, unique=True, index=True)
    kind: str = Field(max_length=16)
    # Multilingual name: {"en": "...", "ru": "..."}.
    name: dict[str, str] = Field(sa_column=Column(JSONDocument, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )

    @property
    def tenant(self) -> str | None:
        """The tenant this organisation is, if it is a member state."""
        return self.code if self.kind == OrganisationKind.member_state else None
