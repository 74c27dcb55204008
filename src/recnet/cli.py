"""The ``recnet`` command: serve, migrate, and keep the published OpenAPI document current."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from recnet.config import Settings, get_settings

app = typer.Typer(
    name="recnet",
    help="The data-exchange service of the Central Asia Regional Expert Council.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DEFAULT_OPENAPI_PATH = Path("openapi/v1.json")


def _settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        for error in exc.errors():
            typer.echo(f"recnet: configuration refused: {error['msg']}", err=True)
        raise typer.Exit(2) from None


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on.", envvar="RECNET_HOST")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="Port to listen on.", min=1, max=65535, envvar="RECNET_PORT")
    ] = 8000,
    workers: Annotated[
        int, typer.Option(help="Server processes.", min=1, max=64, envvar="RECNET_WORKERS")
    ] = 1,
    migrate: Annotated[
        bool | None,
        typer.Option(
            "--migrate/--no-migrate",
            help="Apply pending migrations first (default: yes on the embedded SQLite database).",
        ),
    ] = None,
) -> None:
    """Serve the API with uvicorn, after applying pending migrations on the embedded database."""
    import uvicorn

    from recnet.db import upgrade

    settings = _settings()
    if migrate if migrate is not None else settings.is_sqlite:
        upgrade(settings.database_url)
    uvicorn.run(
        "recnet.app:create_served_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        server_header=False,
    )


@app.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations to the configured database (alembic upgrade head)."""
    from recnet.db import upgrade

    upgrade(_settings().database_url, revision)
    typer.echo(f"database migrated to {revision}")


def render_openapi() -> str:
    from recnet.app import create_app

    # The document does not depend on the environment: build it from the defaults.
    schema: dict[str, Any] = create_app(Settings.model_construct()).openapi()
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


@app.command()
def openapi(
    write: Annotated[bool, typer.Option("--write", help="Write the document to PATH.")] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 when PATH differs from what the app generates.")
    ] = False,
    path: Annotated[Path, typer.Option(help="Where the committed document lives.")] = (
        DEFAULT_OPENAPI_PATH
    ),
) -> None:
    """Print, write or check the OpenAPI document of the API."""
    document = render_openapi()
    if write:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(document, encoding="utf-8")
        typer.echo(f"wrote {path}")
    elif check:
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != document:
            typer.echo(f"{path} is stale: run `recnet openapi --write` and commit it", err=True)
            raise typer.Exit(1)
        typer.echo(f"{path} is current")
    else:
        sys.stdout.write(document)


def main() -> None:
    app()
