"""Wire shapes of statistics: one observation as pushed, the import report, the answers."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from recnet.schemas.statistics import (
    CL_AGE,
    CL_COUNTERPART_AREA,
    CL_INDICATOR,
    CL_OBS_STATUS,
    CL_SEX,
    CL_UNIT_MEASURE,
    MEMBER_STATES,
    normalise_period,
)

_REF_AREAS = frozenset(c.id for c in MEMBER_STATES)
_ALLOWED = {
    "REF_AREA": _REF_AREAS,
    "INDICATOR": CL_INDICATOR.ids(),
    "SEX": CL_SEX.ids(),
    "AGE": CL_AGE.ids(),
    "COUNTERPART_AREA": CL_COUNTERPART_AREA.ids(),
    "OBS_STATUS": CL_OBS_STATUS.ids(),
    "UNIT_MEASURE": CL_UNIT_MEASURE.ids(),
}
Count = Annotated[int, Field(ge=0, le=2_000_000_000)]


class ObservationIn(BaseModel):
    """One observation as a member state pushes it (JSON object or CSV row)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold U+0000: refuse it (422) rather than fail (500).
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text must not contain NUL (U+0000)")
        return value

    REF_AREA: str
    INDICATOR: str
    SEX: str
    AGE: str
    COUNTERPART_AREA: str
    TIME_PERIOD: str
    OBS_VALUE: Count
    OBS_STATUS: str = "A"
    UNIT_MEASURE: str = "PS"
    SOURCE: Annotated[str | None, Field(max_length=200)] = None
    COMMENT: Annotated[str | None, Field(max_length=500)] = None

    @field_validator(
        "REF_AREA", "INDICATOR", "SEX", "AGE", "COUNTERPART_AREA", "OBS_STATUS", "UNIT_MEASURE"
    )
    @classmethod
    def _in_codelist(cls, value: str, info: Any) -> str:
        if value not in _ALLOWED[info.field_name]:
            raise PydanticCustomError(
                "invalid_code",
                "{value!r} is not a code of {field}",
                {"value": value[:40], "field": info.field_name},
            )
        return value

    @field_validator("TIME_PERIOD")
    @classmethod
    def _period(cls, value: str) -> str:
        normalised = normalise_period(value)
        if normalised is None:
            raise PydanticCustomError(
                "invalid_period",
                "{value!r} is not a period (2024, 2024-Q1 or 2024-03)",
                {"value": value[:20]},
            )
        return normalised


COLUMNS = tuple(ObservationIn.model_fields)
REQUIRED_COLUMNS = tuple(n for n, f in ObservationIn.model_fields.items() if f.is_required())

Strategy = Literal["create_and_update", "create", "update", "delete"]


class Conflict(BaseModel):
    """One kind of problem, with every row it occurs in (listed up to a bound, all counted)."""

    severity: Literal["error", "warning"]
    code: str = Field(description="Stable error code, e.g. INVALID_CODE, DUPLICATE_KEY.")
    column: str | None
    message: str
    rows: list[int] = Field(description="Row numbers: CSV line numbers, or 1-based JSON indexes.")
    count: int = Field(description="How many rows have this problem (rows lists the first 100).")


class Counts(BaseModel):
    received: int = 0
    imported: int = 0
    updated: int = 0
    ignored: int = 0
    deleted: int = 0


class ImportReport(BaseModel):
    """What an import did (or, on a dry run or a refused atomic import, would have done)."""

    status: Literal["OK", "WARNING", "ERROR"]
    dry_run: bool
    strategy: Strategy
    atomic: bool
    numbering: Literal["line", "index"] = Field(
        description="How rows are numbered: CSV lines (the header is line 1) or JSON indexes."
    )
    counts: Counts
    conflicts: list[Conflict]
    event: int | None = Field(default=None, description="Sequence number of the import's event.")


class StatisticsObservation(BaseModel):
    """One published observation (JSON format)."""

    REF_AREA: str
    INDICATOR: str
    SEX: str
    AGE: str
    COUNTERPART_AREA: str
    TIME_PERIOD: str
    OBS_VALUE: int | None = Field(description="Null when withheld by disclosure control.")
    OBS_STATUS: str | None
    CONF_STATUS: str = Field(description="F free; C too few persons; D withheld (secondary).")
    UNIT_MEASURE: str
    SOURCE: str | None = None
    COMMENT: str | None = None
