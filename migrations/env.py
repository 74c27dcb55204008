"""Alembic environment: the same migrations for SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool
from sqlmodel import SQLModel

import recnet.models  # noqa: F401  (registers every table on the metadata)
from recnet.db import normalise_url

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    url = normalise_url(config.get_main_option("sqlalchemy.url") or "")
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """Leave out what the models do not describe: the dialect-specific search table."""
    return not (type_ == "table" and name is not None and name.startswith("record_search"))


def _run(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        # SQLite alters tables by copying them; PostgreSQL alters in place.
        render_as_batch=connection.dialect.name == "sqlite",  # type: ignore[attr-defined]
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
