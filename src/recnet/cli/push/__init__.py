"""``recnet push``: pushing data to a recnet server from a file, statistics (CSV or Excel),
practices and programmes (JSON).

The client side of the import API, for agencies: ``files`` reads the file, ``client`` talks to the
server (a token, batches with an ``Idempotency-Key`` each, retries), ``checks`` holds records to
the service's published schemas, the commands here run a push, and ``report`` prints what the
server said about each batch with the file's own line numbers, a line at a time as it happens.

A statistics push is all or nothing by default: every batch is first sent as a dry run, and only
when all of them pass are they written. If the server goes away while they are written, the
command says which batches were written; running it again resumes, because each batch's key is
made from the file, and the server answers a batch it already has from its record of it.

Those modules are imported when a command runs, so the rest of ``recnet`` starts without them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from recnet.cli.push.report import Output, describe, resume, summary

if TYPE_CHECKING:
    from recnet.cli.push.client import Batch, BatchResult, Table

app = typer.Typer(help="Push data from files to a recnet server.", no_args_is_help=True)

# Exit codes, as the commands' help and the README give them.
REFUSED = 1
USAGE = 2
INTERRUPTED = 3


class Strategy(StrEnum):
    """What the server does with each row (the import endpoint's ``strategy``)."""

    create_and_update = "create_and_update"
    create = "create"
    update = "update"
    delete = "delete"


Url = Annotated[str, typer.Option(help="The server.", envvar="RECNET_URL")]
ClientId = Annotated[str, typer.Option(help="Client id.", envvar="RECNET_CLIENT_ID")]
ClientSecret = Annotated[
    str, typer.Option(help="Client secret.", envvar="RECNET_CLIENT_SECRET", show_default=False)
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Check only; write nothing.")]
Retries = Annotated[
    int,
    typer.Option(
        help="Retries of a request on a network error, 5xx or 429 (same Idempotency-Key).",
        min=0,
        max=20,
    ),
]


@app.command("statistics")
def push_statistics(
    file: Annotated[Path, typer.Argument(help="A .csv file, or an .xlsx workbook.")],
    url: Url = "http://127.0.0.1:8000",
    client_id: ClientId = "",
    client_secret: ClientSecret = "",
    batch_size: Annotated[int, typer.Option(help="Rows per request.", min=1)] = 10_000,
    strategy: Annotated[
        Strategy, typer.Option(help="Create and update, only create, only update, or delete.")
    ] = Strategy.create_and_update,
    sheet: Annotated[
        str | None,
        typer.Option(help="The .xlsx sheet: its name, or its number from 1 (default: the first)."),
    ] = None,
    retries: Retries = 4,
    partial: Annotated[
        bool,
        typer.Option(
            "--partial",
            help="Write batch by batch, keeping the batches that pass when others are refused.",
        ),
    ] = False,
    dry_run: DryRun = False,
) -> None:
    """Import statistics in batches, all or nothing: every batch is checked by the server (a dry
    run) and written only when all pass. Exit 1 when a batch is refused, 2 on usage or auth
    errors, 3 when the server went away (run the same command again to resume)."""
    from recnet.cli.push import client, files

    out = Output()
    try:
        table = files.read_table(file, sheet)
        parts = list(client.batches(table, batch_size))
        with client.Pusher(url, client_id, client_secret, retries=retries) as pusher:
            pusher.authenticate()

            def send(batch: Batch, dry: bool) -> BatchResult:
                key = client.idempotency_key(
                    table.digest, batch_size, batch.number, dry, strategy.value
                )
                return pusher.push_batch(batch, key, dry, strategy.value)

            if dry_run or not partial:
                checked = _check(out, table, parts, file.name, send)
                refused = any(r.refused for r in checked)
                if dry_run or refused:
                    summary(out, checked, "(dry run: nothing written)" if dry_run else "")
                    if any(r.interrupted for r in checked):
                        out.line(
                            "The server stopped answering the checks; nothing was written. "
                            "Run the same command again when it is back."
                        )
                        raise typer.Exit(INTERRUPTED)
                    if refused and not dry_run:
                        out.line("Nothing was written: every batch must pass (or give --partial).")
                    raise typer.Exit(REFUSED if refused else 0)
            written = _write(out, table, parts, file.name, send, checked=not partial)
    except client.PushError as exc:
        typer.echo(f"recnet push: {exc}", err=True)
        raise typer.Exit(USAGE) from None
    summary(out, written, "")
    stopped = len(written) < len(parts) or any(r.interrupted for r in written)
    if stopped:
        resume(out, table, written, parts)
    if any(r.interrupted for r in written):
        raise typer.Exit(INTERRUPTED)
    if any(r.refused for r in written):
        raise typer.Exit(REFUSED)


def _check(
    out: Output,
    table: Table,
    parts: Sequence[Batch],
    name: str,
    send: Callable[[Batch, bool], BatchResult],
) -> list[BatchResult]:
    """Every batch sent as a dry run, its answer printed as it comes; stops if the server goes."""
    results: list[BatchResult] = []
    with out.bar(f"checking {name}", len(table.records)) as bar:
        for batch in parts:
            result = send(batch, True)
            results.append(result)
            for line in describe(result, table.unit, replay=" (as checked before)"):
                bar.line(f"checked {line}" if line.startswith("batch") else line)
            bar.advance(len(batch.lines))
            if result.interrupted:
                break
    return results


def _write(
    out: Output,
    table: Table,
    parts: Sequence[Batch],
    name: str,
    send: Callable[[Batch, bool], BatchResult],
    *,
    checked: bool,
) -> list[BatchResult]:
    """The batches written one by one, each printed as it is done; stops if the server goes
    (and, when the batches were checked, at a refusal the checks did not foresee)."""
    results: list[BatchResult] = []
    with out.bar(f"writing {name}", len(table.records)) as bar:
        for batch in parts:
            result = send(batch, False)
            results.append(result)
            lines = describe(result, table.unit)
            # The checks printed the warnings already: a written batch is one line.
            for line in lines if result.refused or not checked else lines[:1]:
                bar.line(line)
            bar.advance(len(batch.lines))
            if result.interrupted or (checked and result.refused):
                break
    return results


def _push_records(
    kind: str,
    plural: str,
    file: Path,
    url: str,
    client_id: str,
    client_secret: str,
    retries: int,
    dry_run: bool,
    partial: bool,
) -> None:
    """Check every record against the server's schema, then PUT each by its ``source_ref``."""
    from recnet.cli.push import checks, client, files

    out = Output()
    failed = 0
    try:
        items = files.read_records(file, kind)
        with client.Pusher(url, client_id, client_secret, retries=retries) as pusher:
            problems = checks.problems(pusher.schema(kind), items)
            for problem in problems:
                out.line(f"ERROR {problem}")
            bad = len({p.item for p in problems})
            if dry_run:
                out.line(
                    f"total: {'REFUSED' if bad else 'OK'} (dry run: nothing written) "
                    f"{len(items)} {kind}(s) checked against /v1/schemas/{kind}, {bad} refused"
                )
                raise typer.Exit(REFUSED if bad else 0)
            if bad and not partial:
                out.line(
                    f"total: REFUSED (checked: nothing written) {len(items)} {kind}(s), "
                    f"{bad} refused; fix them, or give --partial to push the others"
                )
                raise typer.Exit(REFUSED)
            failing = {p.item for p in problems}
            pusher.authenticate()
            with out.bar(f"pushing {file.name}", len(items)) as bar:
                for number, item in enumerate(items, start=1):
                    if number in failing:
                        failed += 1
                        bar.line(f"{item['source_ref']}: not sent (item {number} is invalid)")
                    else:
                        code, what = pusher.put_record(plural, item)
                        failed += code not in (200, 201)
                        bar.line(f"{item['source_ref']}: {code} {what}")
                    bar.advance(1)
    except client.Unreachable as exc:
        typer.echo(f"recnet push: {exc}", err=True)
        out.line(
            f"interrupted: run the same command again to finish; each {kind} is put by its "
            "source_ref, so the ones already stored are not duplicated"
        )
        raise typer.Exit(INTERRUPTED) from None
    except client.PushError as exc:
        typer.echo(f"recnet push: {exc}", err=True)
        raise typer.Exit(USAGE) from None
    out.line(f"total: {len(items)} {kind}(s), {failed} refused")
    if failed:
        raise typer.Exit(REFUSED)


RecordsFile = Annotated[
    Path, typer.Argument(help="A JSON array of records, each with its source_ref.")
]
Partial = Annotated[
    bool,
    typer.Option("--partial", help="Push the valid records even when others fail the check."),
]


@app.command("practices")
def push_practices(
    file: RecordsFile,
    url: Url = "http://127.0.0.1:8000",
    client_id: ClientId = "",
    client_secret: ClientSecret = "",
    retries: Retries = 4,
    partial: Partial = False,
    dry_run: DryRun = False,
) -> None:
    """Create or replace practices by their source_ref (PUT /v1/practices/by-ref/{ref}), after
    checking every one against the server's schema (/v1/schemas/practice)."""
    _push_records(
        "practice", "practices", file, url, client_id, client_secret, retries, dry_run, partial
    )


@app.command("programmes")
def push_programmes(
    file: RecordsFile,
    url: Url = "http://127.0.0.1:8000",
    client_id: ClientId = "",
    client_secret: ClientSecret = "",
    retries: Retries = 4,
    partial: Partial = False,
    dry_run: DryRun = False,
) -> None:
    """Create or replace programmes by their source_ref (PUT /v1/programmes/by-ref/{ref}), after
    checking every one against the server's schema (/v1/schemas/programme)."""
    _push_records(
        "programme", "programmes", file, url, client_id, client_secret, retries, dry_run, partial
    )
