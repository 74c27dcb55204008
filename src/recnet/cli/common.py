"""What the ``recnet`` commands share: the settings (a refused configuration is a message and
exit 2), one unit of work on the configured database, and JSON output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from sqlmodel import Session

    from recnet.config import Settings


def _settings() -> Settings:
    # Imported here, not at the top: the settings bring pydantic, which `recnet --help` and the
    # push client do without.
    from pydantic import ValidationError

    from recnet.config import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        for error in exc.errors():
            typer.echo(f"recnet: configuration refused: {error['msg']}", err=True)
        raise typer.Exit(2) from None


@contextmanager
def _unit_of_work() -> Iterator[Session]:
    """One transaction on the configured database; problems become a message and exit 1."""
    from recnet.db import Database
    from recnet.errors import ProblemError

    database = Database.from_settings(_settings(), bound_answers=False)
    try:
        with database.transaction() as session:
            yield session
    except ProblemError as exc:
        typer.echo(f"recnet: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    finally:
        database.dispose()


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))
