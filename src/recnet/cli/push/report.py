"""What ``recnet push`` prints: each batch's result for a person, the totals, and what is on the
server after an interrupted push. Lines are printed as they are known (``Output``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from recnet.cli.push.client import Batch, BatchResult, Table


class Output:
    """Lines for the person or the program reading stdout, each printed when it is known.

    On a terminal a progress bar runs beside them; piped, each line is written and flushed at
    once, so a log or a pipeline sees every batch as it is done, not the whole push at the end.
    """

    def __init__(self) -> None:
        self.progress: Any = None
        self.task: Any = None

    @contextmanager
    def bar(self, description: str, total: int) -> Iterator[Output]:
        if not sys.stdout.isatty():
            yield self
            return
        from rich.progress import Progress

        # The bar and the lines share stdout, so the lines print above the bar, never into it.
        with Progress(transient=True, redirect_stdout=False, redirect_stderr=False) as progress:
            self.progress = progress
            self.task = progress.add_task(description, total=total)
            try:
                yield self
            finally:
                self.progress = self.task = None

    def line(self, text: str) -> None:
        if self.progress is not None:
            self.progress.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            typer.echo(text)

    def advance(self, amount: int) -> None:
        if self.progress is not None:
            self.progress.advance(self.task, amount)


def summary(out: Output, results: Sequence[BatchResult], note: str) -> None:
    refused = [r for r in results if r.refused]
    counts = " ".join(f"{k}={v}" for k, v in total(results).items())
    status = "REFUSED" if refused else ("WARNING" if any(r.conflicts for r in results) else "OK")
    out.line(
        f"total: {status}{f' {note}' if note else ''} "
        f"{len(results)} batch(es), {len(refused)} refused; {counts}".rstrip()
    )


def span(results: Sequence[BatchResult], unit: str) -> str:
    if not results:
        return "none"
    numbers = ", ".join(str(r.number) for r in results)
    return f"batch(es) {numbers} ({unit}s {results[0].first}-{results[-1].last})"


def resume(
    out: Output, table: Table, written: Sequence[BatchResult], parts: Sequence[Batch]
) -> None:
    """What is on the server now, and how to finish the push."""
    done = [r for r in written if not r.refused]
    unknown = [r for r in written if r.interrupted]
    sent = {r.number for r in written}
    left = [b for b in parts if b.number not in sent]
    out.line(f"written: {span(done, table.unit)}")
    if unknown:
        out.line(
            f"no answer for {span(unknown, table.unit)}: written or not, the server knows it "
            "by its Idempotency-Key"
        )
    if left:
        numbers = ", ".join(str(b.number) for b in left)
        out.line(f"not sent: batch(es) {numbers} ({table.unit}s {left[0].first}-{left[-1].last})")
    if not any(r.interrupted for r in written):
        out.line(
            "A batch that passed its check was refused when written (did the data on the server "
            "change meanwhile?): fix what its report names and push the file again."
        )
        return
    out.line(
        "To resume, run the same command again (same file, --batch-size, --strategy and "
        "--sheet): every batch carries an Idempotency-Key made from them, so the server answers "
        "the batches it already wrote from its record of them (replayed) and writes only the rest."
    )


def total(results: Sequence[BatchResult]) -> dict[str, int]:
    """The counts of every batch added up."""
    summed: dict[str, int] = {}
    for result in results:
        for name, value in result.counts.items():
            summed[name] = summed.get(name, 0) + int(value)
    return summed


def describe(
    result: BatchResult, unit: str, replay: str = " (replayed: already sent)"
) -> list[str]:
    """A batch's result as lines of text for a person."""
    counts = " ".join(f"{k}={v}" for k, v in result.counts.items())
    replayed = replay if result.replayed else ""
    lines = [
        f"batch {result.number} ({unit}s {result.first}-{result.last}): "
        f"{result.status}{replayed} {counts}".rstrip()
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
