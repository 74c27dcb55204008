"""Good practices: what worked, told so another state can reuse it."""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Sequence
from datetime import date
from typing import Annotated, Self

from pydantic import Field, model_validator

from recnet.schemas.common import (
    HttpsUrl,
    Input,
    MultilingualName,
    MultilingualParagraph,
    MultilingualText,
    SourceRef,
    Subdivision,
)
from recnet.schemas.records import InitialStatus, RecordMeta
from recnet.schemas.vocabularies import (
    Approach,
    EvidenceLevel,
    GeographicScope,
    Language,
    OrganisationRole,
    TargetGroup,
    TlpMarking,
    WorkingGroup,
)


class OrganisationInvolved(Input):
    """An organisation and its role. Contacts are organisational: no personal data."""

    name: MultilingualName
    code: Annotated[str | None, Field(max_length=16, pattern=r"^[A-Z][A-Z0-9_-]{1,15}$")] = None
    role: OrganisationRole


class DocumentLink(Input):
    url: HttpsUrl
    title: MultilingualName
    language: Language | None = None


def _unique(items: Sequence[Hashable], name: str) -> None:
    if len(set(items)) != len(items):
        raise ValueError(f"{name} must be unique")


class PracticeDocument(Input):
    """The fields an agency writes about a good practice."""

    title: MultilingualName
    summary: MultilingualParagraph
    description: MultilingualText
    lessons_learned: MultilingualText | None = None
    working_group: WorkingGroup
    approaches: Annotated[list[Approach], Field(min_length=1, max_length=len(Approach))]
    target_groups: Annotated[list[TargetGroup], Field(max_length=len(TargetGroup))] = []
    organisations: Annotated[list[OrganisationInvolved], Field(max_length=50)] = []
    geographic_scope: GeographicScope
    regions: Annotated[list[Subdivision], Field(max_length=100)] = []
    start_date: date | None = None
    end_date: date | None = None
    evidence_level: EvidenceLevel
    documents: Annotated[list[DocumentLink], Field(max_length=50)] = []
    related_programmes: Annotated[list[uuid.UUID], Field(max_length=50)] = []

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _unique(self.approaches, "approaches")
        _unique(self.target_groups, "target_groups")
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


class PracticeCreate(PracticeDocument):
    """A good practice as an agency pushes it; the tenant is the caller's own."""

    tlp: TlpMarking
    status: InitialStatus = "draft"
    source_ref: SourceRef | None = None


class Practice(RecordMeta):
    """A good practice as the API answers it."""

    document: PracticeDocument
