"""The operators' commands: organisations, API clients and their secrets, signing keys, the
audit of the event log's hash chain and the disclosure audit of the published statistics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from recnet.cli.common import _print_json, _settings, _unit_of_work
from recnet.schemas.vocabularies import OrganisationKind

if TYPE_CHECKING:
    from recnet.services.clients import IssuedCredentials

orgs_app = typer.Typer(help="The organisations of the network.", no_args_is_help=True)
clients_app = typer.Typer(help="API clients (machine credentials).", no_args_is_help=True)
keys_app = typer.Typer(help="Keys that sign access tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail (the event log).", no_args_is_help=True)
statistics_app = typer.Typer(help="The published statistics.", no_args_is_help=True)


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
