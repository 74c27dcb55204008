"""The ``recnet`` command: serve, deliver webhooks, migrate, keep the published OpenAPI
document current, the operators' commands (organisations, clients, keys, audits) and the
agencies' push client.

This module wires the command together; each group of commands lives in its own module:
``serve`` (running the service), ``admin`` (the operators') and ``push`` (the agencies').
Every heavy module (the app, the database layer, the settings, the HTTP client, the workbook
reader) is imported inside the command that needs it, so ``recnet --help`` answers at once.
"""

from __future__ import annotations

from typing import Annotated

import typer

from recnet.cli import admin, push, serve
from recnet.cli.serve import render_openapi

__all__ = ["app", "main", "render_openapi"]

app = typer.Typer(
    name="recnet",
    help="The data-exchange service of the Central Asia Regional Expert Council.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(wanted: bool) -> None:
    if wanted:
        from recnet import __version__

        typer.echo(f"recnet {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version of recnet and exit.",
            is_eager=True,
            callback=_print_version,
        ),
    ] = False,
) -> None:
    """The data-exchange service of the Central Asia Regional Expert Council."""


# Without a name, the service's commands sit at the top: `recnet serve`, `recnet migrate`...
app.add_typer(serve.app)
app.add_typer(admin.orgs_app, name="orgs")
app.add_typer(admin.clients_app, name="clients")
app.add_typer(admin.keys_app, name="keys")
app.add_typer(admin.audit_app, name="audit")
app.add_typer(admin.statistics_app, name="statistics")
app.add_typer(push.app, name="push")


def main() -> None:
    app()
