"""Wire shapes of statistics: one observation as pushed, the import report, the answers."""

from __future__ import annotations

import re
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

# An observation's fields in COLUMNS order: the dimensions, OBS_VALUE, then the attributes.
ObservationValues = tuple[str, str, str, str, str, str, int, str, str, str | None, str | None]


def observation_values(item: ObservationIn) -> ObservationValues:
    return (
        item.REF_AREA,
        item.INDICATOR,
        item.SEX,
        item.AGE,
        item.COUNTERPART_AREA,
        item.TIME_PERIOD,
        item.OBS_VALUE,
        item.OBS_STATUS,
        item.UNIT_MEASURE,
        item.SOURCE,
        item.COMMENT,
    )


_FIELDS = frozenset(COLUMNS)
_REQUIRED = frozenset(REQUIRED_COLUMNS)
_CODED = ("REF_AREA", "INDICATOR", "SEX", "AGE", "COUNTERPART_AREA", "OBS_STATUS", "UNIT_MEASURE")
_CODELISTS = tuple(_ALLOWED[name] for name in _CODED)
# The periods normalise_period returns unchanged, in ASCII digits.
_NORMALISED_PERIOD = re.compile(r"[0-9]{4}(?:-Q[1-4]|-0[1-9]|-1[0-2])?")


def _bound(name: str, attribute: str) -> int:
    """A bound of a field (max_length, ge, le), as the model declares it."""
    bounds = [getattr(m, attribute, None) for m in ObservationIn.model_fields[name].metadata]
    return int(next(b for b in bounds if b is not None))


_DEFAULT_STATUS = ObservationIn.model_fields["OBS_STATUS"].default
_DEFAULT_UNIT = ObservationIn.model_fields["UNIT_MEASURE"].default
_MIN_COUNT, _MAX_COUNT = _bound("OBS_VALUE", "ge"), _bound("OBS_VALUE", "le")
_MAX_SOURCE, _MAX_COMMENT = _bound("SOURCE", "max_length"), _bound("COMMENT", "max_length")


def plain_observation(raw: Any) -> ObservationValues | None:
    """The values ``ObservationIn`` gives a row in the plain form nearly every row has, checked
    without the model (several times faster): only the model's fields, the required ones given,
    codes exactly as in their codelists, a normalised period, OBS_VALUE an int or decimal digits,
    texts the model keeps as they are. None for any other row, valid or not: the model then
    validates it, and explains what is wrong."""
    if type(raw) is not dict or not (_REQUIRED <= raw.keys() <= _FIELDS):
        return None
    codes = (
        raw["REF_AREA"],
        raw["INDICATOR"],
        raw["SEX"],
        raw["AGE"],
        raw["COUNTERPART_AREA"],
        raw.get("OBS_STATUS", _DEFAULT_STATUS),
        raw.get("UNIT_MEASURE", _DEFAULT_UNIT),
    )
    for code, allowed in zip(codes, _CODELISTS, strict=True):
        if type(code) is not str or code not in allowed:
            return None
    period, value = raw["TIME_PERIOD"], raw["OBS_VALUE"]
    if type(period) is not str or not _NORMALISED_PERIOD.fullmatch(period):
        return None
    if type(value) is str and value.isascii() and value.isdigit() and len(value) <= 10:
        value = int(value)
    if type(value) is not int or not _MIN_COUNT <= value <= _MAX_COUNT:  # a bool is not an int here
        return None
    source, comment = raw.get("SOURCE"), raw.get("COMMENT")
    if not (_plain_text(source, _MAX_SOURCE) and _plain_text(comment, _MAX_COMMENT)):
        return None
    ref_area, indicator, sex, age, counterpart, status, unit = codes
    return (
        ref_area,
        indicator,
        sex,
        age,
        counterpart,
        period,
        value,
        status,
        unit,
        source,
        comment,
    )


def _plain_text(text: Any, max_length: int) -> bool:
    """Whether the model keeps this SOURCE or COMMENT as it is: None, or a string short enough,
    without NUL or lone surrogates, that the model's stripping leaves alone (str.strip removes
    every character the model strips, and a few more: checked over all of Unicode)."""
    if text is None:
        return True
    if type(text) is not str or len(text) > max_length or "\x00" in text or text != text.strip():
        return False
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


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
    CONF_STATUS: str = Field(
        description="F published; C withheld by disclosure control (a small count, or a figure "
        "that would reveal one)."
    )
    UNIT_MEASURE: str
    SOURCE: str | None = None
    COMMENT: str | None = None
