"""Reading the published cube: the selection a query asks for, and its cells as a reader sees them.

``cube_query`` builds the one query every statistics read starts from (filters by dimension,
period and update time, in key order, from a cursor); ``published`` turns its rows into the cells
the principal may see: exact figures where ``auth.visibility.sees_exact_statistics`` says so, the
protected cube's published value and confidentiality status otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import select, tuple_

from recnet.auth.principal import Principal
from recnet.auth.visibility import sees_exact_statistics
from recnet.errors import ValidationProblem
from recnet.schemas.statistics import (
    DIMENSIONS,
    MEMBER_STATES,
    REGION,
    TOTAL,
    period_frequency,
)
from recnet.services.statistics._tables import CUBE, KEY_COLUMNS, Key


@dataclass
class CubeFilters:
    """What a reader asks for: codes per dimension, a period range, changes since a time."""

    dimensions: dict[str, list[str]] = field(default_factory=dict)
    start_period: str | None = None
    end_period: str | None = None
    updated_since: datetime | None = None
    reported_only: bool = True


class PublishedCell(NamedTuple):
    """A cube cell as one reader may see it (see ``published``)."""

    key: Key
    value: int | None
    obs_status: str | None
    conf_status: str
    unit: str
    source: str | None
    comment: str | None


def _period_bounds(period: str) -> tuple[date, date]:
    year = int(period[:4])
    frequency = period_frequency(period)
    if frequency == "A":
        return date(year, 1, 1), date(year, 12, 31)
    first_month = (int(period[6]) - 1) * 3 + 1 if frequency == "Q" else int(period[5:7])
    last_month = first_month + 2 if frequency == "Q" else first_month
    end = date(year + (last_month == 12), last_month % 12 + 1, 1)
    return date(year, first_month, 1), date.fromordinal(end.toordinal() - 1)


def aggregate_filters(
    by: str, indicators: list[str], areas: list[str], start: str | None, end: str | None
) -> CubeFilters:
    """The cube cells an aggregate reads: the codes asked for along the dimensions kept
    (``by``), the member states when REF_AREA is kept and none are named, and the reported (or
    regional) total along every other dimension, never the sum of a total with its parts."""
    kept = {d.strip().upper() for d in by.split(",") if d.strip()}
    unknown = kept - set(DIMENSIONS)
    if unknown:
        raise ValidationProblem(
            f"by may name only {', '.join(DIMENSIONS)}; not {', '.join(sorted(unknown))}."
        )
    dimensions: dict[str, list[str]] = {"INDICATOR": indicators}
    if areas:
        dimensions["REF_AREA"] = areas
    elif "REF_AREA" in kept:
        dimensions["REF_AREA"] = [c.id for c in MEMBER_STATES]
    for dimension in ("REF_AREA", "SEX", "AGE", "COUNTERPART_AREA"):
        if dimension not in kept and dimension not in dimensions:
            dimensions[dimension] = [REGION if dimension == "REF_AREA" else TOTAL]
    return CubeFilters(
        dimensions=dimensions, start_period=start, end_period=end, reported_only=False
    )


def cube_query(filters: CubeFilters, after: Key | None = None) -> Any:
    """The cube's rows for these filters in key order, after the key ``after`` if given. Periods
    are bounded here by whole years; ``published`` drops the cells outside finer bounds."""
    columns = [CUBE.c[c] for c in KEY_COLUMNS]
    query = select(
        *columns,
        CUBE.c.exact_value,
        CUBE.c.published_value,
        CUBE.c.conf_status,
        CUBE.c.obs_status,
        CUBE.c.unit_measure,
        CUBE.c.source,
        CUBE.c.comment,
    )
    if filters.reported_only:
        query = query.where(CUBE.c.derived.is_(False))
    for dimension, codes in filters.dimensions.items():
        if codes:
            query = query.where(CUBE.c[dimension.lower()].in_(codes))
    if filters.start_period:
        query = query.where(CUBE.c.time_period >= filters.start_period[:4])
    if filters.end_period:
        query = query.where(CUBE.c.time_period < str(int(filters.end_period[:4]) + 1))
    if filters.updated_since:
        query = query.where(CUBE.c.updated_at >= filters.updated_since)
    if after is not None:
        query = query.where(tuple_(*columns) > tuple_(*after))
    return query.order_by(*columns)


def cube_frequency(frequency: str) -> Any:
    return CUBE.c.frequency == frequency


def published(
    principal: Principal, rows: Iterable[Any], filters: CubeFilters
) -> Iterator[PublishedCell]:
    """Cells as this principal may see them: exact for its own figures, protected otherwise."""
    start = _period_bounds(filters.start_period)[0] if filters.start_period else None
    end = _period_bounds(filters.end_period)[1] if filters.end_period else None
    for row in rows:
        key: Key = tuple(row[:6])
        if start or end:
            first, last = _period_bounds(key[5])
            if (start and first < start) or (end and last > end):
                continue
        if sees_exact_statistics(principal, key[0]):
            value, conf = row[6], "F"
        else:
            value, conf = row[7], row[8]
        yield PublishedCell(key, value, row[9], conf, row[10], row[11], row[12])
