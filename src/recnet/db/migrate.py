"""Migrations: where the Alembic scripts are, and upgrading a database to a revision."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config as AlembicConfig

from recnet.db.engine import normalise_url


def migrations_dir() -> Path:
    """The Alembic scripts: inside the installed package, or at the root of a source checkout."""
    here = Path(__file__).resolve().parent.parent  # the recnet package
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
