"""The ``recnet`` command: serve, deliver webhooks, migrate, keep the published OpenAPI
document current, and the operators' commands (organisations, clients, keys, audits)."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from recnet.config import Settings, get_settings
from recnet.schemas.vocabularies import OrganisationKind

if TYPE_CHECKING:
    from sqlmodel import Session

    from recnet.services.clients import IssuedCredentials

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

    settings = _settings()
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
    from recnet.services.webhooks import Worker

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
def demo(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Load (or refresh) a sample network and print credentials for an agency and a partner."""
    from recnet import demo as sample
    from recnet.db import Database

    database = Database.from_settings(_settings(), bound_answers=False)
    try:
        credentials = sample.load(database)
    finally:
        database.dispose()
    if as_json:
        _print_json([c.__dict__ for c in credentials])
        return
    typer.echo("Sample network loaded: practices, a programme and illustrative statistics.")
    for c in credentials:
        typer.echo(f"\n{c.organisation} ({c.role}), scopes: {' '.join(c.scopes)}")
        typer.echo(f"  RECNET_CLIENT_ID={c.client_id}")
        typer.echo(f"  RECNET_CLIENT_SECRET={c.client_secret}")


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


orgs_app = typer.Typer(help="The organisations of the network.", no_args_is_help=True)
clients_app = typer.Typer(help="API clients (machine credentials).", no_args_is_help=True)
keys_app = typer.Typer(help="Keys that sign access tokens.", no_args_is_help=True)
app.add_typer(orgs_app, name="orgs")
app.add_typer(clients_app, name="clients")
app.add_typer(keys_app, name="keys")
audit_app = typer.Typer(help="The audit trail (the event log).", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
statistics_app = typer.Typer(help="The published statistics.", no_args_is_help=True)
app.add_typer(statistics_app, name="statistics")


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


@orgs_app.command("create")
def orgs_create(
    code: Annotated[str, typer.Option(help="Short unique code, e.g. UNICEF.")],
    kind: Annotated[OrganisationKind, typer.Option(help="Kind of organisation.")],
    name: Annotated[str, typer.Option(help="Name in English.")],
    name_ru: Annotated[str | None, typer.Option(help="Name in Russian.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Register an organisation (secretariat, partner or researcher)."""
    from recnet.services import clients

    names = {"en": name, **({"ru": name_ru} if name_ru else {})}
    with _unit_of_work() as session:
        org = clients.create_organisation(session, code=code, kind=kind, name=names)
        result = {"code": org.code, "kind": org.kind, "name": org.name, "id": str(org.id)}
    _print_json(result) if as_json else typer.echo(f"created {code} ({kind.value})")


@orgs_app.command("list")
def orgs_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the organisations."""
    from recnet.services import organisations

    with _unit_of_work() as session:
        rows = [
            {"code": o.code, "kind": o.kind, "name": o.name.get("en", "")}
            for o in organisations.list_all(session)
        ]
    if as_json:
        _print_json(rows)
        return
    for row in rows:
        typer.echo(f"{row['code']:<16} {row['kind']:<13} {row['name']}")


def _credentials(issued: IssuedCredentials) -> dict[str, Any]:
    return {
        "client_id": issued.client.client_id,
        "client_secret": issued.client_secret,
        "organisation": issued.organisation.code,
        "scopes": issued.client.scopes,
    }


def _show_credentials(issued: IssuedCredentials, as_json: bool) -> None:
    if as_json:
        _print_json(_credentials(issued))
        return
    typer.echo(f"client_id:     {issued.client.client_id}")
    typer.echo(f"client_secret: {issued.client_secret}")
    typer.echo(f"scopes:        {' '.join(issued.client.scopes) or '(none)'}")
    typer.echo("The secret is shown once and cannot be recovered; store it now.")


@clients_app.command("create")
def clients_create(
    org: Annotated[str, typer.Option(help="Code of the client's organisation.")],
    name: Annotated[str, typer.Option(help="What the client is, e.g. its system's name.")],
    scopes: Annotated[str, typer.Option(help="Space-separated scopes.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a client; its secret is printed once."""
    from recnet.auth.scopes import parse
    from recnet.services import clients

    try:
        wanted = parse(scopes)
    except ValueError as exc:
        typer.echo(f"recnet: {exc}", err=True)
        raise typer.Exit(2) from None
    with _unit_of_work() as session:
        issued = clients.create_client(session, organisation_code=org, name=name, scopes=wanted)
    _show_credentials(issued, as_json)


@clients_app.command("list")
def clients_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List clients (never their secrets)."""
    from recnet.services import clients

    with _unit_of_work() as session:
        rows: list[dict[str, Any]] = [
            {
                "client_id": c.client_id,
                "organisation": o.code,
                "name": c.name,
                "scopes": c.scopes,
                "disabled": c.disabled_at is not None,
            }
            for c, o in clients.list_clients(session)
        ]
    if as_json:
        _print_json(rows)
        return
    for row in rows:
        state = "disabled" if row["disabled"] else "active"
        typer.echo(
            f"{row['client_id']:<22} {row['organisation']:<10} {state:<8} "
            f"{' '.join(row['scopes'])}  {row['name']}"
        )


@clients_app.command("disable")
def clients_disable(client_id: Annotated[str, typer.Argument(help="The client id.")]) -> None:
    """Disable a client: its tokens stop working at once."""
    from recnet.services import clients

    with _unit_of_work() as session:
        clients.disable_client(session, client_id)
    typer.echo(f"disabled {client_id}")


@clients_app.command("rotate")
def clients_rotate(
    client_id: Annotated[str, typer.Argument(help="The client id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Give a client a new secret (printed once); the old secret stops working."""
    from recnet.services import clients

    with _unit_of_work() as session:
        issued = clients.rotate_secret(session, client_id)
    _show_credentials(issued, as_json)


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Make a new signing key; the previous one verifies until its tokens expire."""
    from recnet.auth import keys

    settings = _settings()
    with _unit_of_work() as session:
        key = keys.rotate(session, settings)
        kid = key.kid
    typer.echo(f"new signing key {kid}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the event log's hash chain; exit 1 naming the first altered, missing or moved event."""
    from recnet.services import events

    with _unit_of_work() as session:
        checked, broken = events.verify(session)
    if broken is not None:
        typer.echo(
            f"event log BROKEN at event {broken.seq}: {broken.reason} "
            f"({checked} events before it verified)",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"event log verified: {checked} events, chain intact")


@statistics_app.command("audit")
def statistics_audit(
    indicator: Annotated[
        str | None, typer.Option(help="Only this indicator's partitions, e.g. RETURNED.")
    ] = None,
    year: Annotated[
        str | None, typer.Option(help="Only this year's partitions, e.g. 2024.")
    ] = None,
) -> None:
    """Prove disclosure control over every release of the cube; exit 1 naming each cell a view
    can narrow below the minimum cell."""
    from recnet.services import statistics

    if year is not None and not (len(year) == 4 and year.isdigit()):
        typer.echo("recnet: --year must be a year, e.g. 2024", err=True)
        raise typer.Exit(2)
    settings = _settings()
    failed = 0
    with _unit_of_work() as session:
        for audited in statistics.audit_cube(
            session, settings.min_cell, indicator=indicator, year=year
        ):
            failed += bool(audited.failures)
            typer.echo(
                f"{audited.indicator} {audited.year}: {audited.cells:,} cells, "
                f"{audited.withheld:,} withheld, {len(audited.failures):,} failures"
            )
            for failure in audited.failures:
                typer.echo(f"  {failure}")
    if failed:
        typer.echo(f"disclosure audit FAILED in {failed} partition(s)", err=True)
        raise typer.Exit(1)


push_app = typer.Typer(help="Push data from files to a recnet server.", no_args_is_help=True)
app.add_typer(push_app, name="push")

Url = Annotated[str, typer.Option(help="The server.", envvar="RECNET_URL")]
ClientId = Annotated[str, typer.Option(help="Client id.", envvar="RECNET_CLIENT_ID")]
ClientSecret = Annotated[
    str, typer.Option(help="Client secret.", envvar="RECNET_CLIENT_SECRET", show_default=False)
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Check only; write nothing.")]


@push_app.command("statistics")
def push_statistics(
    file: Annotated[Path, typer.Argument(help="A .csv file, or an .xlsx workbook (first sheet).")],
    url: Url = "http://127.0.0.1:8000",
    client_id: ClientId = "",
    client_secret: ClientSecret = "",
    batch_size: Annotated[int, typer.Option(help="Rows per request.", min=1)] = 10_000,
    dry_run: DryRun = False,
) -> None:
    """Import statistics in batches; exit 1 when a batch is refused, 2 on usage or auth errors."""
    from rich.console import Console
    from rich.progress import Progress

    from recnet import push

    try:
        table = push.read_table(file)
        parts = list(push.batches(table, batch_size))
        results: list[push.BatchResult] = []
        with (
            push.Pusher(url, client_id, client_secret) as pusher,
            Progress(console=Console(stderr=True), transient=True) as progress,
        ):
            pusher.authenticate()
            task = progress.add_task(f"pushing {file.name}", total=len(table.records))
            for batch in parts:
                key = push.idempotency_key(table.digest, batch_size, batch.number, dry_run)
                results.append(pusher.push_batch(batch, key, dry_run, "create_and_update"))
                progress.advance(task, len(batch.lines))
    except push.PushError as exc:
        typer.echo(f"recnet push: {exc}", err=True)
        raise typer.Exit(2) from None
    for result in results:
        for line in push.describe(result, table.unit):
            typer.echo(line)
    refused = [r for r in results if r.refused]
    counts = " ".join(f"{k}={v}" for k, v in push.total(results).items())
    status = "REFUSED" if refused else ("WARNING" if any(r.conflicts for r in results) else "OK")
    typer.echo(
        f"total: {status}{' (dry run: nothing written)' if dry_run else ''} "
        f"{len(results)} batch(es), {len(refused)} refused; {counts}"
    )
    if refused:
        raise typer.Exit(1)


@push_app.command("practices")
def push_practices(
    file: Annotated[Path, typer.Argument(help="A JSON array of practices, each with source_ref.")],
    url: Url = "http://127.0.0.1:8000",
    client_id: ClientId = "",
    client_secret: ClientSecret = "",
    dry_run: DryRun = False,
) -> None:
    """Create or replace practices by their source_ref (PUT /v1/practices/by-ref/{ref})."""
    from rich.console import Console
    from rich.progress import track

    from recnet import push

    failed = 0
    try:
        items = push.read_practices(file)
        if dry_run:
            typer.echo(f"dry run: {len(items)} practice(s) would be pushed; nothing sent")
            return
        with push.Pusher(url, client_id, client_secret) as pusher:
            pusher.authenticate()
            for item in track(
                items,
                description=f"pushing {file.name}",
                transient=True,
                console=Console(stderr=True),
            ):
                code, what = pusher.put_practice(item)
                failed += code not in (200, 201)
                typer.echo(f"{item['source_ref']}: {code} {what}")
    except push.PushError as exc:
        typer.echo(f"recnet push: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"total: {len(items)} practice(s), {failed} refused")
    if failed:
        raise typer.Exit(1)


def main() -> None:
    app()
