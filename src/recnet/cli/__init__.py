"""The ``recnet`` command: serve, deliver webhooks, migrate, keep the published OpenAPI
document current, the operators' commands (organisations, clients, keys, audits) and the
agencies' push client.

This module wires the command together; each group of commands lives in its own module:
``serve`` (running the service), ``admin`` (the operators') and ``push`` (the agencies').
"""

from __future__ import annotations

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
