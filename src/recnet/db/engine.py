"""Engines: one per database URL, set up for its dialect, and the tenant of a session.

SQLite gets its pragmas and takes the write lock first in a unit of work that will write;
PostgreSQL gets psycopg 3, a bound on every answer, a ping for a connection that sat idle, the
service's role, and the current tenant for row-level security in every transaction.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlmodel import Session

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
    ``services.record_reads.list_page``), and escaped Cyrillic would nearly double their size."""
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
