"""Statistics imports: a member state's observations, validated whole, then written.

An import is parsed and validated whole first (``validation``: every problem in one report, with
its rows; ``workbook`` for an Excel sheet). It is then applied with set-based writes according to
the strategy (``run_import``), with one ``statistics_imported`` event, and the cube of each
touched partition (an indicator and a year) is rebuilt (``cube.rebuild_cube``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, select, text, update
from sqlmodel import Session

from recnet.auth.principal import Principal
from recnet.db import bulk_insert, utcnow
from recnet.errors import ValidationProblem
from recnet.schemas.statistics import DIMENSIONS
from recnet.schemas.statistics_io import (
    Counts,
    ImportReport,
    Strategy,
)
from recnet.services import events
from recnet.services.statistics._tables import KEY_COLUMNS, OBSERVATIONS, Key
from recnet.services.statistics.cube import rebuild_cube
from recnet.services.statistics.validation import (
    Problems,
    Row,
    check_consistency,
    parse_csv,
    parse_json,
    validate,
)
from recnet.services.statistics.workbook import Sheet, parse_xlsx


@dataclass(frozen=True)
class ImportRequest:
    body: bytes
    csv: bool
    strategy: Strategy
    atomic: bool
    dry_run: bool
    # An XLSX workbook (``csv`` is then False), and its sheet: a name or a number from 1.
    xlsx: bool = False
    sheet: str | None = None


def _parse(request: ImportRequest) -> tuple[Sheet | None, Iterator[tuple[int, Any]]]:
    if request.xlsx:
        return parse_xlsx(request.body, request.sheet)
    return None, parse_csv(request.body) if request.csv else parse_json(request.body)


def run_import(
    session: Session, principal: Principal, request: ImportRequest, min_cell: int
) -> ImportReport:
    tenant = principal.tenant
    if tenant is None:
        raise ValidationProblem("Only a member state imports statistics.")
    problems = Problems()
    sheet, parsed = _parse(request)
    rows = validate(parsed, tenant, problems)
    received = len(rows) + len({r for rs in problems.groups.values() for r in rs})
    if request.strategy != "delete":
        check_consistency(rows, problems)

    if session.get_bind().dialect.name == "postgresql":
        # One import of a tenant at a time, from reading what exists to writing: two
        # overlapping imports would otherwise both plan inserts of the same new keys. (SQLite's
        # write transactions already queue.) Taken after validation, so the wait is short.
        session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"),
            {"key": zlib.crc32(f"recnet.import.{tenant}".encode())},
        )
    existing = _existing(session, tenant, rows)
    inserts, updates, deletes, ignored = [], [], [], 0
    for row in rows:
        current = existing.get(row.key)
        if request.strategy == "delete":
            if current is None:
                problems.add(
                    "warning",
                    "NOT_FOUND",
                    None,
                    "There is no such observation to delete",
                    row.number,
                )
            else:
                deletes.append(row)
        elif current is None:
            if request.strategy == "update":
                problems.add(
                    "error", "NOT_FOUND", None, "There is no such observation to update", row.number
                )
            else:
                inserts.append(row)
        elif current == row.attributes:
            ignored += 1
        elif request.strategy == "create":
            problems.add(
                "error", "ALREADY_EXISTS", None, "This observation exists already", row.number
            )
        else:
            updates.append(row)

    refused = problems.errors and request.atomic
    if not request.atomic:
        bad = problems.error_rows()
        inserts = [r for r in inserts if r.number not in bad]
        updates = [r for r in updates if r.number not in bad]
    counts = Counts(received=received, ignored=ignored)
    if not refused:
        counts.imported, counts.updated, counts.deleted = len(inserts), len(updates), len(deletes)
    status = "ERROR" if refused else ("WARNING" if problems.groups else "OK")
    report = ImportReport(
        status=status,
        dry_run=request.dry_run,
        strategy=request.strategy,
        atomic=request.atomic,
        # A sheet's rows are numbered as Excel numbers them: the header is row 1, as a CSV's
        # header is line 1.
        numbering="line" if request.csv or request.xlsx else "index",
        counts=counts,
        conflicts=problems.report(),
    )
    if sheet is not None:
        for conflict in report.conflicts:
            conflict.message = f"{conflict.message} ({sheet.where(conflict.column)})"
    if refused or request.dry_run or not (inserts or updates or deletes):
        return report

    now = utcnow()
    _write(session, inserts, updates, deletes, now)
    changes = [[*r.key[1:], r.value] for r in (*inserts, *updates)] + [
        [*r.key[1:], None] for r in deletes
    ]
    rebuild_cube(
        session, {(r.key[1], r.key[5][:4]) for r in (*inserts, *updates, *deletes)}, min_cell
    )
    # Last, just before the commit: appending takes the event log's lock until then, and every
    # other writer waits for it (the rebuild above can take seconds).
    event = events.append(
        session,
        principal,
        kind=events.STATISTICS_KIND,
        action="statistics_imported",
        tenant=tenant,
        tlp="AMBER",
        payload={
            "strategy": request.strategy,
            "counts": counts.model_dump(),
            "columns": list(DIMENSIONS[1:]) + ["OBS_VALUE"],
            "changes": changes,
        },
    )
    report.event = event.seq
    return report


def _existing(session: Session, tenant: str, rows: Sequence[Row]) -> dict[Key, tuple[Any, ...]]:
    if not rows:
        return {}
    indicators = sorted({r.key[1] for r in rows})
    years = sorted({r.key[5][:4] for r in rows})
    query = select(
        *(OBSERVATIONS.c[c] for c in KEY_COLUMNS),
        OBSERVATIONS.c.obs_value,
        OBSERVATIONS.c.obs_status,
        OBSERVATIONS.c.unit_measure,
        OBSERVATIONS.c.source,
        OBSERVATIONS.c.comment,
    ).where(
        OBSERVATIONS.c.ref_area == tenant,
        OBSERVATIONS.c.indicator.in_(indicators),
        OBSERVATIONS.c.time_period >= years[0],
        OBSERVATIONS.c.time_period < str(int(years[-1]) + 1),
    )
    return {tuple(r[:6]): tuple(r[6:]) for r in session.execute(query)}


def _key_params(row: Row) -> dict[str, Any]:
    return {f"k_{c}": v for c, v in zip(KEY_COLUMNS, row.key, strict=True)}


def _key_match() -> Any:
    return and_(*(OBSERVATIONS.c[c] == bindparam(f"k_{c}") for c in KEY_COLUMNS))


def _write(
    session: Session, inserts: list[Row], updates: list[Row], deletes: list[Row], now: datetime
) -> None:
    """Set-based writes: one executemany per kind of change, never a statement per row."""
    if inserts:
        bulk_insert(
            session,
            "observations",
            (
                *KEY_COLUMNS,
                "obs_value",
                "obs_status",
                "unit_measure",
                "source",
                "comment",
                "updated_at",
            ),
            ((*r.key, *r.attributes, now) for r in inserts),
            row_security=True,
        )
    if updates:
        statement = (
            update(OBSERVATIONS)
            .where(_key_match())
            .values(
                obs_value=bindparam("v_value"),
                obs_status=bindparam("v_status"),
                unit_measure=bindparam("v_unit"),
                source=bindparam("v_source"),
                comment=bindparam("v_comment"),
                updated_at=bindparam("v_now"),
            )
        )
        session.execute(
            statement,
            [
                {
                    **_key_params(r),
                    "v_value": r.value,
                    "v_status": r.status,
                    "v_unit": r.unit,
                    "v_source": r.source,
                    "v_comment": r.comment,
                    "v_now": now,
                }
                for r in updates
            ],
            execution_options={"synchronize_session": False},
        )
    if deletes:
        session.execute(
            delete(OBSERVATIONS).where(_key_match()),
            [_key_params(r) for r in deletes],
            execution_options={"synchronize_session": False},
        )
