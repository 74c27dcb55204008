"""The published cube: what readers of statistics are given, brought up to date after every import.

The cube is published one partition at a time: an indicator and a year (no cell is derived from
another year, and no relation disclosure control weighs crosses a partition). For each partition
it holds the reported cells plus the cells readers need besides (totals of parts, years rolled up
from quarters or months, the regional total over the states), each with its exact value, its
published value and confidentiality status as disclosure control (``protection``) decided them,
and the release of the partition in which that value was first published. Which of exact and
published a reader is shown is decided in ``auth.visibility``.

Every rebuild of a partition is one more release of it. The values it changes or removes go to
``statistics_cube_history``: a reader may have kept them, so disclosure control judges each
release together with every earlier one (``protection.protect``), and ``audit_cube`` proves the
guarantee afresh over all of them.
"""

from __future__ import annotations

import logging
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, delete, func, select, text, union, update
from sqlmodel import Session

from recnet.db import bulk_insert, utcnow
from recnet.errors import Conflict
from recnet.schemas.statistics import (
    CL_REF_AREA,
    MEMBER_STATES,
    PARTS,
    REGION,
    TOTAL,
    period_frequency,
)
from recnet.services.statistics import protection
from recnet.services.statistics._tables import (
    CUBE,
    HIERARCHICAL,
    HISTORY,
    KEY_COLUMNS,
    OBSERVATIONS,
    Key,
)

log = logging.getLogger(__name__)


class DisclosureRefused(Conflict):
    """An import whose new release of a partition would fail the disclosure audit."""

    slug, title = "disclosure-refused", "The release would disclose withheld figures"


_STATES = frozenset(c.id for c in MEMBER_STATES)
# Every REF_AREA a cube cell can have (imports are validated against the codelist). Naming them
# all lets the cube's index (indicator, ref_area, time_period) find one partition's rows.
_REF_AREAS = sorted(CL_REF_AREA.ids())


def rebuild_cube(session: Session, partitions: Iterable[tuple[str, str]], min_cell: int) -> None:
    """Publish a new release of each partition (indicator, year) from its observations: derived
    totals and roll-ups, disclosure control against every earlier release, and only the cells
    that changed written. It all happens in the caller's transaction, so readers see each
    partition as it was or as it is now, never half rebuilt. A release the disclosure audit
    fails is never published: ``DisclosureRefused`` (409), and the caller's transaction rolls
    back."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    now = utcnow()
    for indicator, year in sorted(set(partitions)):
        if postgresql:  # one rebuild of a partition at a time, each seeing the last one's data
            session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"),
                {"key": zlib.crc32(f"recnet.cube.{indicator}.{year}".encode())},
            )
        _rebuild_partition(session, indicator, year, min_cell, now)


# The attributes (obs_status, unit_measure, source, comment) of a cell derived here.
_NO_ATTRIBUTES = (None, "PS", None, None)


class _State(NamedTuple):
    """A cube cell's columns but its key, frequency and update time: what a rebuild compares to
    tell whether a stored cell changed."""

    derived: bool
    exact_value: int
    published_value: int | None
    conf_status: str
    since: int
    obs_status: str | None
    unit_measure: str
    source: str | None
    comment: str | None


_STATE_COLUMNS = _State._fields
_CUBE_COLUMNS = (*KEY_COLUMNS, "frequency", *_STATE_COLUMNS, "updated_at")
_HISTORY_COLUMNS = (*KEY_COLUMNS, "since", "until", "exact_value", "withheld")


def _rebuild_partition(
    session: Session, indicator: str, year: str, min_cell: int, now: datetime
) -> None:
    exact: dict[Key, int] = {}
    attributes: dict[Key, tuple[Any, ...]] = {}
    for row in session.execute(
        select(
            *(OBSERVATIONS.c[c] for c in KEY_COLUMNS),
            OBSERVATIONS.c.obs_value,
            OBSERVATIONS.c.obs_status,
            OBSERVATIONS.c.unit_measure,
            OBSERVATIONS.c.source,
            OBSERVATIONS.c.comment,
        ).where(_in_partition(OBSERVATIONS, indicator, year))
    ):
        key: Key = tuple(row[:6])
        exact[key] = row[6]
        attributes[key] = tuple(row[7:])
    stored = _stored(session, indicator, year)
    history = _history(session, indicator, year)
    release = 1 + max(
        max((state.since for state in stored.values()), default=0),
        max((int(version.until) for version in history), default=0),
    )
    protected = protection.protect(
        _cube_cells(exact),
        min_cell,
        previous={
            key: protection.Previous(
                state.exact_value, state.conf_status != protection.PUBLISHED, state.since
            )
            for key, state in stored.items()
        },
        history=history,
        release=release,
    )
    if protected.failures:
        # Never publish a release the audit fails: the import is refused whole (the caller's
        # transaction rolls back). The cells and values go to the operators' log only; the
        # answer names none, as they can be other states' figures.
        log.error(
            "statistics %s %s: release %d refused, the disclosure audit fails in %d place(s) "
            "that no suppression could mend: %s",
            indicator,
            year,
            release,
            len(protected.failures),
            "; ".join(protected.failures[:5]),
        )
        raise DisclosureRefused(
            f"Nothing was imported: the new release of {indicator} for {year} would let readers "
            f"work out {len(protected.failures)} figure(s) that recnet withholds, by comparing "
            "it with what earlier releases published. This happens when withheld observations "
            "are deleted or changed in a way the figures already published pin down. Ask the "
            "secretariat: the server's log names the cells.",
            extra={"indicator": indicator, "year": year},
        )

    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    for key, value, conf, since in zip(
        protected.keys, protected.values, protected.conf, protected.since, strict=True
    ):
        shown = conf == protection.PUBLISHED
        state = _State(
            key not in exact,
            value,
            value if shown else None,
            # One status for every withheld cell: readers below the owner are not told why.
            protection.PUBLISHED if shown else protection.CONFIDENTIAL,
            since,
            *attributes.get(key, _NO_ATTRIBUTES),
        )
        before = stored.pop(key, None)
        if before is None:
            inserts.append((*key, period_frequency(key[5]), *state, now))
        elif before != state:
            updates.append((key, state))
    # What is left of the stored cells is gone from the partition.
    _write(session, inserts, updates, list(stored), now)
    if protected.ended:
        bulk_insert(
            session,
            HISTORY.name,
            _HISTORY_COLUMNS,
            ((*v.key, v.since, int(v.until), v.value, v.withheld) for v in protected.ended),
        )


def _in_partition(table: Any, indicator: str, year: str) -> Any:
    """The rows of one partition: an indicator's periods within one year (2024, 2024-Q1 and
    2024-03 all sort from "2024" and before "2025")."""
    return and_(
        table.c.indicator == indicator,
        table.c.time_period >= year,
        table.c.time_period < str(int(year) + 1),
    )


def _stored(session: Session, indicator: str, year: str) -> dict[Key, _State]:
    """The partition's cells as the cube holds them."""
    query = select(*(CUBE.c[c] for c in KEY_COLUMNS), *(CUBE.c[c] for c in _STATE_COLUMNS)).where(
        _in_partition(CUBE, indicator, year), CUBE.c.ref_area.in_(_REF_AREAS)
    )
    return {tuple(row[:6]): _State(*row[6:]) for row in session.execute(query)}


def _history(session: Session, indicator: str, year: str) -> list[protection.Version]:
    """The versions of the partition's cells that earlier releases ended."""
    query = select(
        *(HISTORY.c[c] for c in KEY_COLUMNS),
        HISTORY.c.since,
        HISTORY.c.until,
        HISTORY.c.exact_value,
        HISTORY.c.withheld,
    ).where(_in_partition(HISTORY, indicator, year))
    return [protection.Version(tuple(row[:6]), *row[6:]) for row in session.execute(query)]


def _key_match() -> Any:
    return and_(*(CUBE.c[c] == bindparam(f"k_{c}") for c in KEY_COLUMNS))


def _write(
    session: Session,
    inserts: list[tuple[Any, ...]],
    updates: list[tuple[Key, _State]],
    deletes: list[Key],
    now: datetime,
) -> None:
    """Set-based writes of the cells that changed: one statement (an executemany or a COPY) per
    kind of change, never one per row."""
    options = {"synchronize_session": False}
    if deletes:
        session.execute(
            delete(CUBE).where(_key_match()),
            [{f"k_{c}": v for c, v in zip(KEY_COLUMNS, key, strict=True)} for key in deletes],
            execution_options=options,
        )
    if updates:
        statement = (
            update(CUBE)
            .where(_key_match())
            .values(
                **{c: bindparam(f"v_{c}") for c in _STATE_COLUMNS},
                updated_at=bindparam("v_now"),
            )
        )
        session.execute(
            statement,
            [
                {
                    **{f"k_{c}": v for c, v in zip(KEY_COLUMNS, key, strict=True)},
                    **{f"v_{c}": v for c, v in state._asdict().items()},
                    "v_now": now,
                }
                for key, state in updates
            ],
            execution_options=options,
        )
    if inserts:
        bulk_insert(session, CUBE.name, _CUBE_COLUMNS, inserts)


# ---------------------------------------------------------------- the audit


@dataclass(frozen=True)
class PartitionAudit:
    """The disclosure audit of one stored partition over all its releases."""

    indicator: str
    year: str
    cells: int  # now current
    withheld: int  # of those
    failures: list[str]


def audit_cube(
    session: Session, min_cell: int, *, indicator: str | None = None, year: str | None = None
) -> Iterator[PartitionAudit]:
    """Audit every stored partition (or those of one indicator, or one year): every version its
    releases published, the current cells and the history, judged together as a reader who kept
    every release would. A partition whose cells were all removed is audited for its past."""
    for found_indicator, found_year in _partitions(session, indicator, year):
        current = [
            protection.Version(
                key,
                state.since,
                protection.CURRENT,
                state.exact_value,
                state.conf_status != protection.PUBLISHED,
            )
            for key, state in _stored(session, found_indicator, found_year).items()
        ]
        versions = _history(session, found_indicator, found_year) + current
        failures = protection.audit(versions, min_cell)
        yield PartitionAudit(
            found_indicator,
            found_year,
            len(current),
            sum(v.withheld for v in current),
            [failure.describe(versions) for failure in failures],
        )


def _partitions(session: Session, indicator: str | None, year: str | None) -> list[tuple[str, str]]:
    """The (indicator, year) of every partition the cube or its history holds, in order."""
    selects = []
    for table in (CUBE, HISTORY):
        query = select(table.c.indicator, func.substr(table.c.time_period, 1, 4).label("year"))
        if indicator is not None:
            query = query.where(table.c.indicator == indicator)
        if year is not None:
            query = query.where(
                table.c.time_period >= year, table.c.time_period < str(int(year) + 1)
            )
        selects.append(query)
    rows = session.execute(union(*selects)).all()
    return sorted((row[0], row[1]) for row in rows)


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
