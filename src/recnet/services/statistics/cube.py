"""The published cube: what readers of statistics are given, rebuilt after every import.

For each indicator it holds the reported cells plus the cells readers need besides (totals of
parts, years rolled up from quarters or months, the regional total over the states), each with
its exact value and, protected once by disclosure control (``services.disclosure``), its published
value and confidentiality status. Which of the two a reader is shown is decided in
``auth.visibility``.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import delete, select, text
from sqlmodel import Session

from recnet.db import bulk_insert, utcnow
from recnet.schemas.statistics import MEMBER_STATES, PARTS, REGION, TOTAL, period_frequency
from recnet.services import disclosure
from recnet.services.statistics._tables import CUBE, HIERARCHICAL, KEY_COLUMNS, OBSERVATIONS, Key

_STATES = frozenset(c.id for c in MEMBER_STATES)


def rebuild_cube(session: Session, indicators: Iterable[str], min_cell: int) -> None:
    """Recompute the cube of each indicator: derived totals, roll-ups, disclosure control.

    Nothing crosses a year: a cell is derived only from cells of its own year, and disclosure
    control relates only cells of one year. So each year is derived and protected on its own, and
    its rows go to the database while the next year is computed (the COPY is open throughout).
    """
    postgresql = session.get_bind().dialect.name == "postgresql"
    for indicator in sorted(indicators):
        if postgresql:  # one rebuild of an indicator at a time, each seeing the last one's data
            session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"),
                {"key": zlib.crc32(f"recnet.cube.{indicator}".encode())},
            )
        observations = session.execute(
            select(
                *(OBSERVATIONS.c[c] for c in KEY_COLUMNS),
                OBSERVATIONS.c.obs_value,
                OBSERVATIONS.c.obs_status,
                OBSERVATIONS.c.unit_measure,
                OBSERVATIONS.c.source,
                OBSERVATIONS.c.comment,
            ).where(OBSERVATIONS.c.indicator == indicator)
        ).all()
        session.execute(delete(CUBE).where(CUBE.c.indicator == indicator))
        bulk_insert(
            session, "statistics_cube", _CUBE_COLUMNS, _cube_rows(observations, min_cell, utcnow())
        )


# The attributes (obs_status, unit_measure, source, comment) of a cell derived here.
_NO_ATTRIBUTES = (None, "PS", None, None)
_CUBE_COLUMNS = (
    *KEY_COLUMNS,
    "frequency",
    "derived",
    "exact_value",
    "published_value",
    "conf_status",
    "obs_status",
    "unit_measure",
    "source",
    "comment",
    "updated_at",
)


def _cube_rows(
    observations: Sequence[Any], min_cell: int, now: datetime
) -> Iterator[tuple[Any, ...]]:
    """The rows of an indicator's cube (_CUBE_COLUMNS) from all its observations, made a year at
    a time (see ``rebuild_cube``)."""
    years: dict[str, dict[Key, int]] = defaultdict(dict)
    attributes: dict[Key, tuple[Any, ...]] = {}
    for row in observations:
        key: Key = tuple(row[:6])
        years[key[5][:4]][key] = row[6]
        attributes[key] = tuple(row[7:])
    for year in sorted(years):
        exact = years[year]
        keys, values, conf = disclosure.statuses(_cube_cells(exact), min_cell)
        frequency = {period: period_frequency(period) for period in set(map(itemgetter(5), keys))}
        for key, value, status in zip(keys, values, conf, strict=True):
            yield (
                *key,
                frequency[key[5]],
                key not in exact,
                value,
                value if status == disclosure.PUBLISHED else None,
                status,
                *attributes.get(key, _NO_ATTRIBUTES),
                now,
            )


def _cube_cells(exact: dict[Key, int]) -> dict[Key, int]:
    """The reported cells, and the cells readers need besides: totals (_T) of the parts given
    where no total was reported, years rolled up from quarters (else months) where no year was
    reported, and the regional total (REF_AREA CAS) over the states. Only parts are ever summed,
    never a total with its own parts, and a reported cell always wins over a derived one."""
    cells = dict(exact)
    for dimension in ("COUNTERPART_AREA", "AGE", "SEX"):
        position, parts = HIERARCHICAL[dimension], PARTS[dimension]
        totals: dict[Key, int] = defaultdict(int)
        for key, value in cells.items():
            if key[position] in parts:
                # The key with its code replaced (mypy cannot count the slices' lengths).
                total: Key = key[:position] + (TOTAL,) + key[position + 1 :]  # type: ignore[assignment]
                if total not in exact:
                    totals[total] += value
        cells.update(totals)
    frequency = {period: period_frequency(period) for period in {key[5] for key in cells}}
    sums: dict[str, dict[Key, int]] = {"Q": defaultdict(int), "M": defaultdict(int)}
    for key, value in cells.items():
        if (kind := frequency[key[5]]) != "A":
            sums[kind][key[:5] + (key[5][:4],)] += value
    # A year not reported is rolled up from its quarters if any are given, else its months.
    for year, count in {**sums["M"], **sums["Q"]}.items():
        cells.setdefault(year, count)
    regional: dict[Key, int] = defaultdict(int)
    for key, value in cells.items():
        if key[0] in _STATES:
            regional[(REGION,) + key[1:]] += value
    cells.update(regional)
    return cells
