"""Aggregate statistics: imports with a precise report, the protected cube, and queries.

An import is validated whole (codes, periods, values, duplicates, the caller's own REF_AREA,
totals against their parts), then applied with set-based writes according to the strategy, with
one ``statistics_imported`` event, and the cube of each touched indicator is rebuilt: reported
cells plus regional totals and annual roll-ups, protected once by disclosure control. Readers
below member-state level only ever see the cube's published values; the owning member state
(its own REF_AREA) and the secretariat see exact figures.
"""

from __future__ import annotations

import csv
import io
import json
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import itemgetter
from typing import Any, NamedTuple

from pydantic import ValidationError
from sqlalchemy import (
    Text,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlmodel import Session

from recnet.auth.principal import Principal, Role
from recnet.db import bulk_insert, utcnow
from recnet.errors import ValidationProblem
from recnet.formats import sdmx
from recnet.models import CubeCell, Observation
from recnet.schemas.statistics import (
    DIMENSIONS,
    MEMBER_STATES,
    PARTS,
    REGION,
    TOTAL,
    period_frequency,
)
from recnet.schemas.statistics_io import (
    COLUMNS,
    REQUIRED_COLUMNS,
    Conflict,
    Counts,
    ImportReport,
    ObservationIn,
    Strategy,
    observation_values,
    plain_observation,
)
from recnet.services import disclosure, events

Key = tuple[str, str, str, str, str, str]
MAX_LISTED_ROWS = 100
_STATES = frozenset(c.id for c in MEMBER_STATES)
_OBS = Observation.__table__  # type: ignore[attr-defined]
_CUBE = CubeCell.__table__  # type: ignore[attr-defined]
_KEY_COLUMNS = ("ref_area", "indicator", "sex", "age", "counterpart_area", "time_period")


class Row(NamedTuple):
    number: int
    key: Key
    value: int
    status: str
    unit: str
    source: str | None
    comment: str | None

    @property
    def attributes(self) -> tuple[int, str, str, str | None, str | None]:
        return (self.value, self.status, self.unit, self.source, self.comment)


# ---------------------------------------------------------------- problems


@dataclass
class Problems:
    """Conflicts grouped by (severity, code, column, message): one entry however many rows."""

    groups: dict[tuple[str, str, str | None, str], list[int]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def add(self, severity: str, code: str, column: str | None, message: str, row: int) -> None:
        self.groups[(severity, code, column, message)].append(row)

    @property
    def errors(self) -> bool:
        return any(severity == "error" for severity, *_ in self.groups)

    def error_rows(self) -> set[int]:
        return {
            row
            for (severity, *_), rows in self.groups.items()
            if severity == "error"
            for row in rows
        }

    def report(self) -> list[Conflict]:
        return [
            Conflict(
                severity=severity,
                code=code,
                column=column,
                message=message,
                rows=sorted(rows)[:MAX_LISTED_ROWS],
                count=len(rows),
            )
            for (severity, code, column, message), rows in sorted(
                self.groups.items(), key=lambda item: (item[0][0], min(item[1]))
            )
        ]


_ERROR_CODES = {
    "invalid_code": "INVALID_CODE",
    "invalid_period": "INVALID_PERIOD",
    "missing": "MISSING_VALUE",
    "extra_forbidden": "UNKNOWN_COLUMN",
    "string_too_long": "TOO_LONG",
}
_MESSAGES = {
    "INVALID_CODE": "{column} holds a code not in its codelist (see /v1/statistics/structure)",
    "INVALID_PERIOD": "TIME_PERIOD must be a year, quarter or month: 2024, 2024-Q1 or 2024-03",
    "MISSING_VALUE": "{column} is required",
    "UNKNOWN_COLUMN": "{column} is not a column of RR_STATS",
    "TOO_LONG": "{column} is too long",
    "INVALID_VALUE": "{column} must be a whole number of persons, 0 or more",
}


def _describe(error: Any) -> tuple[str, str | None, str]:
    column = str(error["loc"][0]) if error.get("loc") else None
    code = _ERROR_CODES.get(error["type"], "INVALID_VALUE")
    message = _MESSAGES[code].format(column=column or "the row")
    if code == "INVALID_VALUE" and column != "OBS_VALUE":
        message = f"{column} has an invalid value"
    return code, column, message


# ---------------------------------------------------------------- parsing


def parse_json(body: bytes) -> Iterator[tuple[int, Any]]:
    """Rows of ``{"observations": [...]}``, numbered from 1, each released once handed out."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise ValidationProblem("The body is not valid JSON.") from None
    if not isinstance(document, dict) or not isinstance(document.get("observations"), list):
        raise ValidationProblem('The body must be {"observations": [ ... ]}.')
    if set(document) - {"observations"}:
        raise ValidationProblem('The body may hold only "observations".')
    items: list[Any] = document.pop("observations")
    for index in range(len(items)):
        item, items[index] = items[index], None
        yield index + 1, item


def parse_csv(body: bytes) -> Iterator[tuple[int, Any]]:
    """Rows of a CSV with a header of RR_STATS column names, numbered by line."""
    try:
        text_stream = io.StringIO(body.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ValidationProblem("The CSV is not UTF-8 text.") from None
    reader = csv.reader(text_stream)
    header = [h.strip().upper() for h in next(reader, [])]
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if unknown or missing or len(set(header)) != len(header):
        raise ValidationProblem(
            "The CSV header must name RR_STATS columns once each"
            + (f"; unknown: {', '.join(unknown[:10])}" if unknown else "")
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + "."
        )
    width = len(header)
    for row in reader:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != width:
            yield reader.line_num, {"__width__": len(row)}
            continue
        yield (
            reader.line_num,
            {name: value for name, value in zip(header, row, strict=True) if value != ""},
        )


# ---------------------------------------------------------------- validation


def validate(rows: Iterable[tuple[int, Any]], tenant: str, problems: Problems) -> list[Row]:
    valid: list[Row] = []
    first_row: dict[Key, int] = {}
    for number, raw in rows:
        if isinstance(raw, dict) and "__width__" in raw:
            problems.add(
                "error",
                "MALFORMED_ROW",
                None,
                "The row does not have one value per header column",
                number,
            )
            continue
        values = plain_observation(raw)
        if values is None:
            try:
                values = observation_values(ObservationIn.model_validate(raw))
            except ValidationError as exc:
                for error in exc.errors():
                    problems.add("error", *_describe(error), number)
                continue
        if tenant != values[0]:
            problems.add(
                "error",
                "FOREIGN_REF_AREA",
                "REF_AREA",
                f"REF_AREA must be your own state ({tenant})",
                number,
            )
            continue
        key: Key = values[:6]
        if key in first_row:
            problems.add(
                "error",
                "DUPLICATE_KEY",
                None,
                "The same observation (all six dimensions) appears more than once in the batch",
                number,
            )
            continue
        first_row[key] = number
        valid.append(Row(number, key, *values[6:]))
    return valid


_HIERARCHICAL = {"SEX": 2, "AGE": 3, "COUNTERPART_AREA": 4}


def check_consistency(rows: Sequence[Row], problems: Problems) -> None:
    """Totals against their parts, within the batch: a part above its total is an error; complete
    parts that do not add up to their total are a warning."""
    by_key = {row.key: row for row in rows}
    for dimension, position in _HIERARCHICAL.items():
        parts_of = PARTS[dimension]
        for total in (r for r in rows if r.key[position] == TOTAL):
            parts = [
                by_key[k]
                for code in parts_of
                if (k := (*total.key[:position], code, *total.key[position + 1 :])) in by_key
            ]
            for part in parts:
                if part.value > total.value:
                    problems.add(
                        "error",
                        "PART_EXCEEDS_TOTAL",
                        "OBS_VALUE",
                        f"A part is larger than its {dimension} total",
                        part.number,
                    )
            if len(parts) == len(parts_of) and sum(p.value for p in parts) != total.value:
                problems.add(
                    "warning",
                    "PARTS_DO_NOT_ADD_UP",
                    "OBS_VALUE",
                    f"All {dimension} parts are given but do not add up to their total",
                    total.number,
                )


# ---------------------------------------------------------------- import


@dataclass(frozen=True)
class ImportRequest:
    body: bytes
    csv: bool
    strategy: Strategy
    atomic: bool
    dry_run: bool


def run_import(
    session: Session, principal: Principal, request: ImportRequest, min_cell: int
) -> ImportReport:
    tenant = principal.tenant
    if tenant is None:
        raise ValidationProblem("Only a member state imports statistics.")
    problems = Problems()
    parsed = parse_csv(request.body) if request.csv else parse_json(request.body)
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
        numbering="line" if request.csv else "index",
        counts=counts,
        conflicts=problems.report(),
    )
    if refused or request.dry_run or not (inserts or updates or deletes):
        return report

    now = utcnow()
    _write(session, inserts, updates, deletes, now)
    changes = [[*r.key[1:], r.value] for r in (*inserts, *updates)] + [
        [*r.key[1:], None] for r in deletes
    ]
    rebuild_cube(session, {r.key[1] for r in (*inserts, *updates, *deletes)}, min_cell)
    # Last, just before the commit: appending takes the event log's lock until then, and every
    # other writer waits for it (the rebuild above can take seconds).
    event = events.append(
        session,
        principal,
        kind="statistics",
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
        *(_OBS.c[c] for c in _KEY_COLUMNS),
        _OBS.c.obs_value,
        _OBS.c.obs_status,
        _OBS.c.unit_measure,
        _OBS.c.source,
        _OBS.c.comment,
    ).where(
        _OBS.c.ref_area == tenant,
        _OBS.c.indicator.in_(indicators),
        _OBS.c.time_period >= years[0],
        _OBS.c.time_period < str(int(years[-1]) + 1),
    )
    return {tuple(r[:6]): tuple(r[6:]) for r in session.execute(query)}


def _key_params(row: Row) -> dict[str, Any]:
    return {f"k_{c}": v for c, v in zip(_KEY_COLUMNS, row.key, strict=True)}


def _key_match() -> Any:
    return and_(*(_OBS.c[c] == bindparam(f"k_{c}") for c in _KEY_COLUMNS))


def _write(
    session: Session, inserts: list[Row], updates: list[Row], deletes: list[Row], now: datetime
) -> None:
    """Set-based writes: one executemany per kind of change, never a statement per row."""
    if inserts:
        bulk_insert(
            session,
            "observations",
            (
                *_KEY_COLUMNS,
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
            update(_OBS)
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
            delete(_OBS).where(_key_match()),
            [_key_params(r) for r in deletes],
            execution_options={"synchronize_session": False},
        )


# ---------------------------------------------------------------- the published cube


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
                *(_OBS.c[c] for c in _KEY_COLUMNS),
                _OBS.c.obs_value,
                _OBS.c.obs_status,
                _OBS.c.unit_measure,
                _OBS.c.source,
                _OBS.c.comment,
            ).where(_OBS.c.indicator == indicator)
        ).all()
        session.execute(delete(_CUBE).where(_CUBE.c.indicator == indicator))
        bulk_insert(
            session, "statistics_cube", _CUBE_COLUMNS, _cube_rows(observations, min_cell, utcnow())
        )


_NO_ATTRIBUTES = (None, "PS", None, None)
_CUBE_COLUMNS = (
    *_KEY_COLUMNS,
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
        position, parts = _HIERARCHICAL[dimension], PARTS[dimension]
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


# ---------------------------------------------------------------- queries


@dataclass
class CubeFilters:
    dimensions: dict[str, list[str]] = field(default_factory=dict)
    start_period: str | None = None
    end_period: str | None = None
    updated_since: datetime | None = None
    reported_only: bool = True


class PublishedCell(NamedTuple):
    key: Key
    value: int | None
    obs_status: str | None
    conf_status: str
    unit: str
    source: str | None
    comment: str | None


def sees_exact(principal: Principal, ref_area: str) -> bool:
    return principal.role is Role.secretariat or principal.tenant == ref_area


def _period_bounds(period: str) -> tuple[date, date]:
    year = int(period[:4])
    frequency = period_frequency(period)
    if frequency == "A":
        return date(year, 1, 1), date(year, 12, 31)
    first_month = (int(period[6]) - 1) * 3 + 1 if frequency == "Q" else int(period[5:7])
    last_month = first_month + 2 if frequency == "Q" else first_month
    end = date(year + (last_month == 12), last_month % 12 + 1, 1)
    return date(year, first_month, 1), date.fromordinal(end.toordinal() - 1)


def cube_query(filters: CubeFilters, after: Key | None = None) -> Any:
    columns = [_CUBE.c[c] for c in _KEY_COLUMNS]
    query = select(
        *columns,
        _CUBE.c.exact_value,
        _CUBE.c.published_value,
        _CUBE.c.conf_status,
        _CUBE.c.obs_status,
        _CUBE.c.unit_measure,
        _CUBE.c.source,
        _CUBE.c.comment,
    )
    if filters.reported_only:
        query = query.where(_CUBE.c.derived.is_(False))
    for dimension, codes in filters.dimensions.items():
        if codes:
            query = query.where(_CUBE.c[dimension.lower()].in_(codes))
    if filters.start_period:
        query = query.where(_CUBE.c.time_period >= filters.start_period[:4])
    if filters.end_period:
        query = query.where(_CUBE.c.time_period < str(int(filters.end_period[:4]) + 1))
    if filters.updated_since:
        query = query.where(_CUBE.c.updated_at >= filters.updated_since)
    if after is not None:
        query = query.where(tuple_(*columns) > tuple_(*after))
    return query.order_by(*columns)


def copies_csv(filters: CubeFilters) -> bool:
    """Whether ``csv_in_database`` can make this selection: when the periods asked for (if any)
    are whole years, so the query's year bounds are exact."""
    return all(p is None or len(p) == 4 for p in (filters.start_period, filters.end_period))


def csv_in_database(
    session: Session, principal: Principal, filters: CubeFilters
) -> Iterator[bytes]:
    """The rows of ``sdmx.plain_csv(published(...))``, byte for byte, made by the database.

    It applies the same protection (exact figures for the caller's own REF_AREA and for the
    secretariat, the published value otherwise, none for withheld cells) and the same formula
    neutralising, so no row becomes Python objects: PostgreSQL writes the CSV with COPY, SQLite
    builds each line in the query. Yields batches of CRLF-ended lines.
    """
    cube = cube_query(filters).subquery()
    exact: Any = (
        literal(True)
        if principal.role is Role.secretariat
        else cube.c.ref_area == literal(principal.tenant or "")
    )
    value = case(
        (exact, cast(cube.c.exact_value, Text)),
        (cube.c.conf_status.in_(sorted(sdmx.SUPPRESSED)), None),
        else_=cast(cube.c.published_value, Text),
    )
    conf = case((exact, literal("F")), else_=cube.c.conf_status)
    # Codes, periods and counts cannot hold a comma, a quote or a formula's first character
    # (sdmx.Observation refuses any that would): only the free texts need quoting and defusing.
    coded = [
        *(cube.c[c] for c in _KEY_COLUMNS),
        value,
        cube.c.obs_status,
        conf,
        cube.c.unit_measure,
    ]
    texts = [cube.c.comment, cube.c.source]
    order = [cube.c[c] for c in _KEY_COLUMNS]
    if session.get_bind().dialect.name == "postgresql":
        query = select(*coded, *map(_neutralised, texts)).order_by(*order)
        return _copied(session, query)
    # One printf per line (NULL prints as nothing): half the cost of a chain of ||, which copies
    # the growing line once per cell.
    cells = [*coded, *map(_csv_cell, texts)]
    line = func.printf(",".join(["%s"] * len(cells)), *cells)
    return _lines(session, select(line).order_by(*order))


def _neutralised(cell: Any) -> Any:
    """``sdmx.neutralise`` in SQL; an empty cell is NULL (COPY writes "" for an empty string)."""
    starts = func.substr(cell, 1, 1).in_(sdmx.FORMULA_START)
    return func.nullif(case((starts, literal("'") + cell), else_=cell), "")


def _csv_cell(cell: Any) -> Any:
    """One cell as the csv module writes it (QUOTE_MINIMAL), neutralised (the apostrophe it may
    add never needs quoting)."""
    plain = func.coalesce(_neutralised(cell), "")
    special = or_(*(func.instr(cell, c) > 0 for c in ('"', ",", "\r", "\n")))
    quoted = literal('"') + func.replace(plain, '"', '""') + literal('"')
    return case((cell.is_(None), ""), (special, quoted), else_=plain)


def _copied(session: Session, query: Any) -> Iterator[bytes]:
    compiled = query.compile(
        dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True}
    )
    raw: Any = session.connection().connection.dbapi_connection
    batch: list[bytes] = []
    statement = f"COPY ({compiled}) TO STDOUT (FORMAT csv)"
    with raw.cursor() as cursor, cursor.copy(statement, compiled.params) as copy:
        # One row per message; lines end in LF, and RFC 4180 (like the csv module) says CRLF.
        for row in copy:
            batch.append(row)
            if len(batch) >= 1000:
                yield _crlf(b"".join(batch), batch)
                batch = []
    if batch:
        yield _crlf(b"".join(batch), batch)


def _crlf(joined: bytes, rows: list[bytes]) -> bytes:
    if b'"' not in joined:  # nothing quoted: every LF ends a row
        return joined.replace(b"\n", b"\r\n")
    # A quoted cell may hold a line break of its own: only each row's last byte ends it.
    return b"".join(bytes(row[:-1]) + b"\r\n" for row in rows)


def _lines(session: Session, query: Any) -> Iterator[bytes]:
    # Straight through the driver: SQLAlchemy's result rows would cost more than the lines.
    # Every value in the query is the service's own (codes, the caller's tenant): inlined.
    compiled = query.compile(
        dialect=session.get_bind().dialect,
        compile_kwargs={"literal_binds": True, "render_postcompile": True},
    )
    cursor: Any = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled))
        while rows := cursor.fetchmany(5000):
            yield ("\r\n".join([row[0] for row in rows]) + "\r\n").encode()
    finally:
        cursor.close()


def cube_frequency(frequency: str) -> Any:
    return _CUBE.c.frequency == frequency


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
        if sees_exact(principal, key[0]):
            value, conf = row[6], "F"
        else:
            value, conf = row[7], row[8]
        yield PublishedCell(key, value, row[9], conf, row[10], row[11], row[12])
