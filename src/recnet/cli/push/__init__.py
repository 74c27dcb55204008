"""``recnet push``: pushing data to a recnet server from a file, statistics (CSV or Excel) and
practices (JSON).

The client side of the import API, for agencies: ``files`` reads the file, ``client`` talks to the
server (a token, batches with an ``Idempotency-Key`` each, retries), and the commands here print
what the server said about each batch with the file's own line numbers. Both are imported when a
command runs, so the rest of ``recnet`` starts without them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from recnet.cli.push.client import BatchResult

app = typer.Typer(help="Push data from files to a recnet server.", no_args_is_help=True)

Url = Annotated[str, typer.Option(help="The server.", envvar="RECNET_URL")]
ClientId = Annotated[str, typer.Option(help="Client id.", envvar="RECNET_CLIENT_ID")]
ClientSecret = Annotated[
    str, typer.Option(help="Client secret.", envvar="RECNET_CLIENT_SECRET", show_default=False)
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Check only; write nothing.")]


@app.command("statistics")
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

    from recnet.cli.push import client, files

    try:
        table = files.read_table(file)
        parts = list(client.batches(table, batch_size))
        results: list[client.BatchResult] = []
        with (
            client.Pusher(url, client_id, client_secret) as pusher,
            Progress(console=Console(stderr=True), transient=True) as progress,
        ):
            pusher.authenticate()
            task = progress.add_task(f"pushing {file.name}", total=len(table.records))
            for batch in parts:
                key = client.idempotency_key(table.digest, batch_size, batch.number, dry_run)
                results.append(pusher.push_batch(batch, key, dry_run, "create_and_update"))
                progress.advance(task, len(batch.lines))
    except client.PushError as exc:
        typer.echo(f"recnet push: {exc}", err=True)
        raise typer.Exit(2) from None
    for result in results:
        for line in describe(result, table.unit):
            typer.echo(line)
    refused = [r for r in results if r.refused]
    counts = " ".join(f"{k}={v}" for k, v in total(results).items())
    status = "REFUSED" if refused else ("WARNING" if any(r.conflicts for r in results) else "OK")
    typer.echo(
        f"total: {status}{' (dry run: nothing written)' if dry_run else ''} "
        f"{len(results)} batch(es), {len(refused)} refused; {counts}"
    )
    if refused:
        raise typer.Exit(1)


@app.command("practices")
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

    from recnet.cli.push import client, files

    failed = 0
    try:
        items = files.read_practices(file)
        if dry_run:
            typer.echo(f"dry run: {len(items)} practice(s) would be pushed; nothing sent")
            return
        with client.Pusher(url, client_id, client_secret) as pusher:
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
    except client.PushError as exc:
        typer.echo(f"recnet push: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"total: {len(items)} practice(s), {failed} refused")
    if failed:
        raise typer.Exit(1)


def total(results: Sequence[BatchResult]) -> dict[str, int]:
    """The counts of every batch added up."""
    summed: dict[str, int] = {}
    for result in results:
        for name, value in result.counts.items():
            summed[name] = summed.get(name, 0) + int(value)
    return summed


def describe(result: BatchResult, unit: str) -> list[str]:
    """A batch's result as lines of text for a person."""
    counts = " ".join(f"{k}={v}" for k, v in result.counts.items())
    replay = " (replayed: already sent)" if result.replayed else ""
    lines = [
        f"batch {result.number} ({unit}s {result.first}-{result.last}): "
        f"{result.status}{replay} {counts}".rstrip()
    ]
    if result.detail:
        lines.append(f"  {result.detail}")
    for conflict in result.conflicts:
        listed = conflict.get("rows", [])
        rows = f"{unit}{'s' if len(listed) != 1 else ''} " + ", ".join(str(r) for r in listed)
        more = conflict.get("count", 0) - len(conflict.get("rows", []))
        column = f" [{conflict['column']}]" if conflict.get("column") else ""
        lines.append(
            f"  {conflict.get('severity', '').upper()} {conflict.get('code')}{column}: "
            f"{conflict.get('message')} — {rows}" + (f" and {more} more" if more else "")
        )
    return lines
