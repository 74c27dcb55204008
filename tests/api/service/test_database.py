"""The database layer: migrations agree with the models; dialect set-up; one unit of work."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import SQLModel, select

import recnet.models  # noqa: F401
from recnet.db import Database, make_engine, normalise_url
from recnet.db import engine as db
from recnet.models import Organisation
from tests.e2e.test_concurrency import admin_execute


def test_migrations_and_models_agree(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                # The full-text search table is per dialect, outside the models.
                "include_name": lambda name, type_, _parents: (
                    not (type_ == "table" and (name or "").startswith("record_search"))
                ),
            },
        )
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_database_is_at_the_latest_migration(database: Database) -> None:
    assert database.head_revision is not None
    assert database.is_current()


def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(
    database: Database, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite pragmas")
    with database.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000


def test_postgresql_uses_psycopg3(database: Database, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("PostgreSQL driver")
    assert database.engine.dialect.driver == "psycopg"


def _backend_of(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_that_died_while_idle_is_replaced_before_use(
    database: Database, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "postgresql":
        pytest.skip("PostgreSQL pool")
    engine = make_engine(database.settings)
    try:
        dead = _backend_of(engine)
        admin_execute(f"SELECT pg_terminate_backend({dead})")
        monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # idle long enough: pinged
        assert _backend_of(engine) != dead
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged(
    database: Database, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No round trip per checkout: a connection that has just worked is used as it is. If it
    died meanwhile, that use fails (the request answers 503) and the next gets a new one."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL pool")
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    engine = make_engine(database.settings)
    try:
        dead = _backend_of(engine)
        admin_execute(f"SELECT pg_terminate_backend({dead})")
        with pytest.raises(OperationalError):
            _backend_of(engine)
        assert _backend_of(engine) != dead
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:///./recnet.db", "sqlite:///./recnet.db"),
    ],
)
def test_database_urls_are_normalised_to_psycopg3(given: str, expected: str) -> None:
    assert normalise_url(given) == expected


def test_a_failed_unit_of_work_writes_nothing(database: Database) -> None:
    units = database.session()
    session = next(units)
    session.add(Organisation(code="TMPORG", kind="partner", name={"en": "Temporary"}))
    session.flush()
    with pytest.raises(RuntimeError):
        units.throw(RuntimeError("the request failed after the write"))
    check = next(database.session())
    assert check.exec(select(Organisation).where(Organisation.code == "TMPORG")).first() is None


def test_a_successful_unit_of_work_commits_once(database: Database) -> None:
    units = database.session()
    session = next(units)
    session.add(Organisation(code="TMPORG", kind="partner", name={"en": "Temporary"}))
    with pytest.raises(StopIteration):
        next(units)
    check = next(database.session())
    assert check.exec(select(Organisation).where(Organisation.code == "TMPORG")).one()
