"""The database: engine set-up per dialect, one session per request, migrations.

A request gets one session; it commits once, after the route has produced its answer and before
the answer is sent, or rolls back on any error. A change and its event therefore land together.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any

import anyio
import anyio.to_thread
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import Depends, Request
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.exc import TimeoutError as WaitTimeout
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

# services/statistics still takes utcnow from here; its home is recnet.clock.
from recnet.clock import utcnow as utcnow
from recnet.config import Settings


def normalise_url(url: str) -> str:
    """Use psycopg 3 for every PostgreSQL URL, whichever spelling the operator gave."""
    parsed = make_url(url)
    if parsed.drivername.split("+")[0] in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


WRITE_INTENT = "recnet_write"


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy, not the driver, starts transactions (see _begin below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # A unit of work that will write takes the write lock first (BEGIN IMMEDIATE): it then
        # reads what it updates under that lock, so concurrent writers queue (busy timeout)
        # instead of failing on a stale snapshot, and no update is lost.
        immediate = connection.get_execution_options().get(WRITE_INTENT, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


TENANT_SETTING = "recnet.tenant"
_SET_TENANT = text(f"SELECT set_config('{TENANT_SETTING}', :tenant, true)")


_EVENT_HEAD = text("SELECT coalesce(max(seq), 0) FROM events")


def set_tenant(session: Session, tenant: str | None) -> None:
    """Make ``tenant`` the current tenant of the session's transactions, for row-level security.

    ``set_config(..., true)`` lasts for the transaction only, so the tenant never outlives the
    request on a pooled connection; later transactions of the session set it again.
    """
    session.info["tenant"] = tenant or ""
    if session.get_bind().dialect.name != "postgresql":
        return
    if session.in_transaction():
        session.execute(_SET_TENANT, {"tenant": tenant or ""})
    else:
        session.connection()  # begins: _reapply_tenant sets it, once


@event.listens_for(Session, "after_begin")
def _reapply_tenant(session: Session, _transaction: Any, connection: Connection) -> None:
    if "tenant" in session.info and connection.dialect.name == "postgresql":
        connection.execute(_SET_TENANT, {"tenant": session.info["tenant"]})


def _configure_postgresql(engine: Engine, role: str) -> None:
    @event.listens_for(engine, "connect")
    def _set_role(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f'SET ROLE "{role}"')
        dbapi_connection.commit()


def _json_text(value: Any) -> str:
    """JSON columns as compact UTF-8 text: lists embed stored documents as they are (see
    ``services.records.list_page``), and escaped Cyrillic would nearly double their size."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def make_engine(settings: Settings, url: str | None = None, bound_answers: bool = True) -> Engine:
    """The engine for ``url`` (default: the configured database). ``bound_answers``: wait at most
    ``db_timeout`` for each answer of PostgreSQL (the service; an operator's command may run
    long statements on purpose)."""
    url = normalise_url(url or settings.database_url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            json_serializer=_json_text,
            connect_args={
                "check_same_thread": False,
                "timeout": settings.sqlite_busy_timeout_ms / 1000,
            },
            pool_size=settings.pool_size,
            max_overflow=0,
            pool_timeout=settings.db_timeout,
        )
        _configure_sqlite(engine, settings.sqlite_busy_timeout_ms)
        return engine
    engine = create_engine(
        url,
        json_serializer=_json_text,
        pool_size=settings.pool_size,
        max_overflow=max(1, settings.pool_size // 2),
        pool_timeout=settings.db_timeout,
        # libpq counts whole seconds, and at least 2.
        connect_args={"connect_timeout": max(2, math.ceil(settings.db_timeout))},
    )
    if bound_answers:
        _bound_every_answer(engine, settings.db_timeout)
    _ping_when_idle(engine)
    if settings.database_role:
        _configure_postgresql(engine, settings.database_role)
    return engine


def _bound_every_answer(engine: Engine, seconds: float) -> None:
    """Wait at most ``seconds`` for any one answer of PostgreSQL (a statement's, a fetch's, a
    COPY's, COMMIT's), then close the connection and fail with an OperationalError (503).

    A stalled server or network otherwise holds the request, its thread and its connection for
    as long as TCP takes to give up. The server's own ``statement_timeout`` cannot help when it
    is the server, or the way to it, that stalls.
    """
    import psycopg

    class BoundedConnection(psycopg.Connection[Any]):
        def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
            try:
                return super().wait(gen, interval, seconds if timeout is None else timeout)
            except psycopg.errors.OperationalError as exc:
                if type(exc).__name__ != "_WaitTimeout":
                    raise
                # Mid-protocol, the connection's state is unknown: it cannot be used again.
                self.pgconn.finish()
                raise psycopg.errors.OperationalError(
                    f"no answer from the database within {seconds} s"
                ) from exc

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        return BoundedConnection.connect(*cargs, **cparams)


# A pooled connection idle for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """Replace a connection that died while the database was away, instead of handing it out:
    service resumes by itself when the database is back.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout, a round trip per request. Here only
    a connection that sat idle in the pool is pinged; one in steady use has just worked. A
    connection that dies in use fails that request (503, nothing written), and SQLAlchemy then
    replaces every connection older than the failure.
    """

    @event.listens_for(engine, "connect")
    def _connected(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("idle_since", 0.0) < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(str(exc)) from exc  # the pool connects anew


def migrations_dir() -> Path:
    """The Alembic scripts: inside the installed package, or at the root of a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "migrations", here.parent.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise RuntimeError("recnet migrations not found; reinstall the package")


def alembic_config(url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(migrations_dir()))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


class Admission:
    """``async with`` takes one of ``size`` slots, waiting at most ``timeout`` seconds for it."""

    def __init__(self, size: int, timeout: float) -> None:
        self._slots = anyio.Semaphore(size)
        self.timeout = timeout

    async def __aenter__(self) -> None:
        with anyio.move_on_after(self.timeout):
            await self._slots.acquire()
            return
        raise WaitTimeout(f"no database slot became free within {self.timeout} s")

    async def __aexit__(self, *_exc: object) -> None:
        self._slots.release()


@dataclass
class Database:
    """What the app holds of its database: the engine, the session factory, the expected schema."""

    settings: Settings
    engine: Engine
    _admissions: dict[int, Admission] = field(default_factory=dict, repr=False)

    @classmethod
    def from_settings(
        cls, settings: Settings, url: str | None = None, bound_answers: bool = True
    ) -> Database:
        return cls(settings, make_engine(settings, url, bound_answers))

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return sessionmaker(self.engine, class_=Session, expire_on_commit=False)

    @cached_property
    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(alembic_config(str(self.engine.url))).get_current_head()

    def current_revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def is_current(self) -> bool:
        return self.current_revision() == self.head_revision

    def session(self, write: bool = False) -> Iterator[Session]:
        """A unit of work: commit once at the end, or roll back on any error.

        ``write`` declares that it will change data (taken into account on SQLite).
        """
        session = self.sessions()
        try:
            if write and self.engine.dialect.name == "sqlite":
                session.connection(execution_options={WRITE_INTENT: True})
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Session]:
        """``session()`` as a context manager, for work outside a request (CLI, tests)."""
        yield from self.session(write)

    def event_head(self, session: Session | None = None) -> int:
        """The event log's highest sequence number (0 when empty): it moves on every change.
        Read in ``session``'s transaction when given, else on a connection of its own."""
        if session is not None:
            return int(session.execute(_EVENT_HEAD).scalar() or 0)
        with self.engine.connect() as connection:
            return int(connection.execute(_EVENT_HEAD).scalar() or 0)

    def admission(self) -> Admission:
        """Slots for requests that use the database: as many as the pool has connections.

        A request takes a slot (waiting without a thread) before its first query and gives it
        back after its commit. So a thread never blocks on an exhausted pool while the requests
        holding the connections wait for a thread: that cycle deadlocks a small thread pool.
        Waiting for a slot is bounded like every other database wait (``db_timeout``).
        """
        loop = id(asyncio.get_running_loop())
        if loop not in self._admissions:
            self._admissions[loop] = Admission(self.settings.pool_size, self.settings.db_timeout)
        return self._admissions[loop]

    def dispose(self) -> None:
        self.engine.dispose()


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


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


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# The scope key under which a request's unit of work is found when it was opened before the
# app ran (see RequestUnit).
REQUEST_UNIT = "recnet.unit"


class _Abandoned(Exception):
    """Thrown into a unit of work to roll it back when nothing went wrong in it."""


class RequestUnit:
    """A request's unit of work opened before the app runs, by the layer that also ends it.

    The idempotency layer opens one so that the answer it keeps is written in the same
    transaction as the change it reports: it commits the two together, after the answer is made
    and before it is sent. The request's session (``get_session``) is this unit's session, and an
    error in the route rolls it back as usual.
    """

    def __init__(self, database: Database) -> None:
        self._units = database.session(write=True)
        self.session: Session | None = None

    @property
    def open(self) -> bool:
        return self.session is not None

    def begin(self) -> Session:
        self.session = next(self._units)
        return self.session

    def commit(self) -> None:
        """Commit (raising what COMMIT raised, after rolling back)."""
        if self.session is not None:
            self.session = None
            next(self._units, None)

    def rollback(self, error: BaseException | None = None) -> None:
        if self.session is not None:
            self.session = None
            _finish(self._units, error or _Abandoned())


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's unit of work, admitted first (see ``Database.admission``)."""
    unit = request.scope.get(REQUEST_UNIT)
    if isinstance(unit, RequestUnit) and unit.session is not None:
        # Opened (and admitted) before the app ran; its opener commits it.
        try:
            yield unit.session
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(unit.rollback, exc)
            raise
        return
    database = get_database(request)
    async with database.admission():
        units = database.session(write=request.method not in SAFE_METHODS)
        session = await anyio.to_thread.run_sync(next, units)
        try:
            yield session
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_finish, units, exc)
            raise
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_finish, units, None)


def _finish(units: Iterator[Session], error: BaseException | None) -> None:
    """Run the unit of work's ending: commit (no error) or roll back (the error re-raised)."""
    if error is None:
        next(units, None)
        return
    try:
        units.throw(error)  # type: ignore[attr-defined]
    except BaseException as raised:
        if raised is not error:
            raise


# scope="function": the session commits before the answer is sent, so a client never sees a
# success for a change that failed to commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
DatabaseDep = Annotated[Database, Depends(get_database)]
