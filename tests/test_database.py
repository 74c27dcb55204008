"""The database layer: migrations agree with the models; dialect set-up; one unit of work."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel, select

import recnet.models  # noqa: F401
from recnet.db import Database, normalise_url
from recnet.models import Organisation


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
