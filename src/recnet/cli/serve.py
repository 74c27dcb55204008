"""Running the service: ``recnet serve``, ``migrate``, the webhook ``worker``, the sample
network (``demo``) and the published OpenAPI document (``openapi``)."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from recnet.cli.common import _print_json, _settings

if TYPE_CHECKING:
    from recnet.config import Settings

# Merged into the `recnet` command without a name (see recnet.cli): its commands sit at the top.
app = typer.Typer()

DEFAULT_OPENAPI_PATH = Path("openapi/v1.json")


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's reading of X-Forwarded-For and X-Forwarded-Proto: only from the proxies named
    in RECNET_TRUSTED_PROXIES, never by default (uvicorn's own default believes the loopback,
    which a proxy on the same host shares with everyone it forwards)."""
    if not settings.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(settings.trusted_proxies)}


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
    worker: Annotated[
        bool | None,
        typer.Option(
            "--worker/--no-worker",
            help="Also deliver webhooks in this process (default: yes on the embedded database).",
        ),
    ] = None,
) -> None:
    """Serve the API with uvicorn, after applying pending migrations on the embedded database."""
    import uvicorn

    from recnet.db import upgrade
    from recnet.logs import configure_logging

    settings = _settings()
    # This process logs too (migrations, the webhook thread, uvicorn's supervisor when there are
    # several workers, which then never builds the app that would configure it): JSON from here.
    configure_logging(settings.log_level)
    if migrate if migrate is not None else settings.is_sqlite:
        upgrade(settings.database_url)
    stop = threading.Event()
    if worker if worker is not None else settings.is_sqlite:
        threading.Thread(
            target=_deliver, args=(settings, 2.0, stop), name="webhooks", daemon=True
        ).start()
    uvicorn.run(
        "recnet.app:create_served_app",
        factory=True,
        # uvicorn's httptools protocol, taking raw UTF-8 in the request line (api/protocol.py).
        http="recnet.api.protocol:Utf8RequestLineProtocol",
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        server_header=False,
        **proxy_options(settings),
    )
    stop.set()


@app.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations to the configured database (alembic upgrade head)."""
    from recnet.db import upgrade

    upgrade(_settings().database_url, revision)
    typer.echo(f"database migrated to {revision}")


@app.command()
def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Deliver one round, then exit (tests, cron).")
    ] = False,
    interval: Annotated[
        float, typer.Option(help="Seconds between looks for due subscriptions.", min=0.1)
    ] = 2.0,
) -> None:
    """Deliver webhooks: push the change feed to every active subscription."""
    import signal

    stop = threading.Event()
    # SIGTERM stops the loop; deliveries in hand finish (each bounded by the timeout).
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        _deliver(_settings(), interval, stop, once=once)
    except KeyboardInterrupt:
        stop.set()


def _deliver(
    settings: Settings, interval: float, stop: threading.Event, once: bool = False
) -> None:
    """The webhook delivery loop, until ``stop`` is set (or one round with ``once``)."""
    import logging

    from recnet.db import Database
    from recnet.logs import configure_logging
    from recnet.workers.webhooks import Worker

    # One connection per delivery thread, and one for the loop.
    settings = settings.model_copy(update={"db_pool_size": settings.webhook_concurrency + 1})
    configure_logging(settings.log_level)
    database = Database.from_settings(settings)
    log = logging.getLogger("recnet.webhooks")
    try:
        with Worker(database, settings) as delivery:
            if once:
                delivery.run_once()
                return
            log.info("webhook worker %s started", delivery.name)
            delivery.run(interval, stop)
            log.info("webhook worker %s stopped", delivery.name)
    finally:
        database.dispose()


@app.command()
def demo(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    rotate: Annotated[
        bool,
        typer.Option("--rotate", help="Give the demo clients new secrets (the old ones stop)."),
    ] = False,
    migrate: Annotated[
        bool | None,
        typer.Option(
            "--migrate/--no-migrate",
            help="Apply pending migrations first (default: yes on the embedded SQLite database).",
        ),
    ] = None,
) -> None:
    """Load (or refresh) a sample network and print credentials for an agency and a partner.

    The demo clients are made on the first run, which prints their secrets; later runs keep them
    (and say so) unless --rotate is given.
    """
    from recnet import demo as sample
    from recnet.db import Database, upgrade
    from recnet.errors import ProblemError

    settings = _settings()
    if migrate if migrate is not None else settings.is_sqlite:
        upgrade(settings.database_url)
    else:
        pending = sample.pending_migration(settings.database_url)
        if pending is not None:
            current, head = pending
            typer.echo(
                f"The database is at migration {current or 'none (never migrated)'}, expected "
                f"{head}: run `recnet migrate` first (or `recnet demo --migrate`).",
                err=True,
            )
            raise typer.Exit(1)
    database = Database.from_settings(settings, bound_answers=False)
    try:
        credentials = sample.load(database, rotate=rotate)
    except ProblemError as refused:
        typer.echo(f"The sample network was not loaded: {refused.detail}", err=True)
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    if as_json:
        _print_json([c.__dict__ for c in credentials])
        return
    typer.echo(
        f"Sample network loaded: {len(sample.practice_records())} practices, "
        f"{len(sample.programme_records())} programmes and illustrative statistics for "
        f"{len(sample.MEMBER_STATES)} member states."
    )
    if any(c.client_secret for c in credentials):
        typer.echo(
            "\nPaste these lines into the shell where you follow the README's walkthroughs "
            "(secrets are shown only now):"
        )
    if any(c.client_secret is None for c in credentials):
        typer.echo(
            "\nThe demo clients exist already and keep their secrets, printed by the `recnet demo` "
            "that made them; `recnet demo --rotate` gives them new ones."
        )
    for c in credentials:
        typer.echo(f"\n# {c.organisation} ({c.role}), scopes: {' '.join(c.scopes)}")
        typer.echo(f"export {c.id_variable}={c.client_id}")
        if c.client_secret is None:
            typer.echo(f"# {c.secret_variable}: unchanged (printed when the client was made)")
            continue
        if c.secret == "rotated":
            typer.echo("# a new secret: the one printed before no longer works")
        typer.echo(f"export {c.secret_variable}={c.client_secret}")


def render_openapi() -> str:
    from recnet.app import create_app
    from recnet.config import Settings

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
