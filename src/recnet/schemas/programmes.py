"""Programmes: national programmes and operations, described in an IATI-like shape."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Self

from pydantic import Field, model_validator

from recnet.schemas.common import (
    Input,
    MultilingualName,
    MultilingualParagraph,
    MultilingualText,
    Name,
    SourceRef,
    Subdivision,
)
from recnet.schemas.practices import OrganisationInvolved
from recnet.schemas.records import InitialStatus, RecordMeta
from recnet.schemas.vocabularies import (
    ActivityDateType,
    ActivityStatus,
    Approach,
    TlpMarking,
)

Period = Annotated[
    str, Field(pattern=r"^\d{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?$", description="2024, 2024-Q1, 2024-03")
]
Amount = Annotated[Decimal, Field(ge=0, le=Decimal("1e13"), max_digits=16, decimal_places=2)]


class ActivityDate(Input):
    type: ActivityDateType
    date: date


class Budget(Input):
    amount: Amount
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217")]
    period_start: date
    period_end: date

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        return self


class IndicatorValue(Input):
    period: Period
    value: Annotated[Decimal, Field(ge=Decimal("-1e12"), le=Decimal("1e12"), max_digits=16)]


class Indicator(Input):
    title: MultilingualName
    unit: Name | None = None
    baseline: IndicatorValue | None = None
    target: IndicatorValue | None = None
    actuals: Annotated[list[IndicatorValue], Field(max_length=100)] = []


class Result(Input):
    title: MultilingualName
    indicators: Annotated[list[Indicator], Field(max_length=50)] = []


class ProgrammeDocument(Input):
    """The fields an agency writes about a programme."""

    title: MultilingualName
    summary: MultilingualParagraph | None = None
    description: MultilingualText
    lead_agency: MultilingualName
    partners: Annotated[list[OrganisationInvolved], Field(max_length=50)] = []
    activity_status: ActivityStatus
    dates: Annotated[list[ActivityDate], Field(max_length=len(ActivityDateType))] = []
    legal_basis: MultilingualText | None = None
    components: Annotated[list[Approach], Field(min_length=1, max_length=len(Approach))]
    budgets: Annotated[list[Budget], Field(max_length=50)] = []
    coverage: Annotated[list[Subdivision], Field(max_length=100)] = []
    results: Annotated[list[Result], Field(max_length=50)] = []

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if len(set(self.components)) != len(self.components):
            raise ValueError("components must be unique")
        if len({d.type for d in self.dates}) != len(self.dates):
            raise ValueError("each date type may appear once")
        return self


class ProgrammeCreate(ProgrammeDocument):
    """A programme as an agency pushes it; the tenant is the caller's own."""

    tlp: TlpMarking
    status: InitialStatus = "draft"
    source_ref: SourceRef | None = None


class Programme(RecordMeta):
    """A programme as the API answers it."""

    document: ProgrammeDocument
