"""The statistics CSV export made by the database, for large selections.

``csv_in_database`` writes the very bytes ``formats.sdmx.plain_csv`` would write from the cells of
``queries.published``, without making a Python object of any row: PostgreSQL writes the CSV with
COPY, SQLite builds each line in the query. The same visibility rule decides, in SQL
(``auth.visibility.exact_statistics``), which cells a caller sees exact. ``copies_csv`` says when
a selection can be made this way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Text, case, cast, func, literal, or_, select
from sqlmodel import Session

from recnet.auth.principal import Principal
from recnet.auth.visibility import exact_statistics
from recnet.formats import sdmx
from recnet.services.statistics._tables import KEY_COLUMNS
from recnet.services.statistics.queries import CubeFilters, cube_query


def copies_csv(filters: CubeFilters) -> bool:
    """Whether ``csv_in_database`` can make this selection: when the periods asked for (if any)
    are whole years, so the query's year bounds are exact."""
    return all(p is None or len(p) == 4 for p in (filters.start_period, filters.end_period))


def csv_in_database(
    session: Session, principal: Principal, filters: CubeFilters
) -> Iterator[bytes]:
    """The rows of ``sdmx.plain_csv(published(...))``, byte for byte, made by the database.

    It applies the same protection (exact figures where ``exact_statistics`` allows them, the
    published value otherwise, none for withheld cells) and the same formula neutralising, so no
    row becomes Python objects: PostgreSQL writes the CSV with COPY, SQLite builds each line in
    the query. Yields batches of CRLF-ended lines.
    """
    cube = cube_query(filters).subquery()
    exact = exact_statistics(principal, cube.c.ref_area)
    value = case(
        (exact, cast(cube.c.exact_value, Text)),
        (cube.c.conf_status.in_(sorted(sdmx.SUPPRESSED)), None),
        else_=cast(cube.c.published_value, Text),
    )
    conf = case((exact, literal("F")), else_=cube.c.conf_status)
    # Codes, periods and counts cannot hold a comma, a quote or a formula's first character
    # (sdmx.Observation refuses any that would): only the free texts need quoting and defusing.
    coded = [
        *(cube.c[c] for c in KEY_COLUMNS),
        value,
        cube.c.obs_status,
        conf,
        cube.c.unit_measure,
    ]
    texts = [cube.c.comment, cube.c.source]
    order = [cube.c[c] for c in KEY_COLUMNS]
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
