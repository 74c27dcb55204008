"""Bulk writes: many rows inserted at the driver's full speed (binary COPY on PostgreSQL)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlmodel import Session


def bulk_insert(
    session: Session,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    row_security: bool = False,
) -> None:
    """Insert many rows in the session's transaction at the driver's full speed: binary COPY on
    PostgreSQL, one prepared executemany on SQLite. Values must be of the columns' own types (str,
    int, bool, None; datetimes timezone-aware UTC): binary COPY converts nothing. ``rows`` may be
    a generator: they are sent as they come.

    PostgreSQL refuses COPY into a table under row-level security, so for those
    (``row_security``) the rows are copied into a temporary table and inserted from there, with
    the policies checking every row.
    """
    connection = session.connection()
    raw: Any = connection.connection.dbapi_connection
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        target = table
        if row_security:
            target = f"bulk_{table}"
            with raw.cursor() as cursor:
                cursor.execute(
                    f"CREATE TEMPORARY TABLE IF NOT EXISTS {target} "
                    f"(LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
                )
        # Binary, with the columns' types given: the driver encodes rows in C (a quarter of the
        # client time of text COPY, and less than building the text in Python), and the server
        # parses no text.
        with raw.cursor() as cursor:
            types = _column_types(cursor, table, columns)
            with cursor.copy(f"COPY {target} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row(row)
        if row_security:
            with raw.cursor() as cursor:
                cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {target}")
                cursor.execute(f"TRUNCATE {target}")
        return
    marks = ", ".join("?" for _ in columns)
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return
    # Only datetimes need converting (to the text UTCDateTime keeps on SQLite); find their
    # positions once rather than testing every value of every row.
    stamps = [i for i, value in enumerate(first) if isinstance(value, datetime)]

    def prepared(row: Sequence[Any]) -> Sequence[Any]:
        if not stamps:
            return row
        values = list(row)
        for i in stamps:
            values[i] = _sqlite_text(values[i])
        return values

    cursor = raw.cursor()
    try:
        cursor.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({marks})",
            map(prepared, itertools.chain([first], iterator)),
        )
    finally:
        cursor.close()


def _column_types(cursor: Any, table: str, columns: Sequence[str]) -> list[int]:
    """The type (oid) of each of ``columns`` of ``table``, from the catalog."""
    cursor.execute(
        "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0",
        (table,),
    )
    types = dict(cursor.fetchall())
    return [types[column] for column in columns]


@lru_cache(maxsize=64)
def _sqlite_text(value: datetime) -> str:
    """The text UTCDateTime stores on SQLite: naive UTC with microseconds (remembered: a bulk
    insert stamps every row with the same instant)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
