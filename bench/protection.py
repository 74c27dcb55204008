"""Disclosure control's cost: a small import beside a long history, a large import, the audit.

Measured in one run, side by side, on SQLite (a file in a temporary folder) and on PostgreSQL when
a URL is given (a database created for the run and dropped after):

(a) a 10-row import into an indicator that already holds ``--years`` years of monthly figures,
    against the same import into an empty indicator (rounds alternate, each in a year of its
    own; medians and the ratio); then how one partition's import costs as its releases pile up;
(b) a ``--rows``-row import (monthly parts, as bench/statistics.py makes them): rows/s, peak
    resident memory of this process, and the share of the time spent protecting the cube;
(c) ``recnet statistics audit``'s own work on that cube: the audit of every partition.

Run: .venv/bin/python bench/protection.py [--postgresql postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from recnet.config import Settings
from recnet.db import Database, set_tenant
from recnet.services import statistics
from recnet.services.statistics import ImportRequest, protection

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.dataset import agency  # noqa: E402

RECNET = str(Path(sys.executable).parent / "recnet")


def median(values: list[float]) -> float:
    """(bench/statistics.py hides the standard library's module of that name here.)"""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


HEADER = "REF_AREA,INDICATOR,SEX,AGE,COUNTERPART_AREA,TIME_PERIOD,OBS_VALUE\n"
AGES = ("Y0T4", "Y5T11", "Y12T17", "Y18T59", "Y_GE60")
COUNTRIES = ("SYR", "IRQ", "AFG", "TUR", "_O")


def history_csv(indicator: str, years: range) -> bytes:
    """Monthly parts of one indicator for every year: sex × two ages × two countries."""
    lines = [HEADER]
    for n, (year, month, sex, age, country) in enumerate(
        itertools.product(years, range(1, 13), ("F", "M"), AGES[:2], COUNTRIES[:2])
    ):
        lines.append(f"UZB,{indicator},{sex},{age},{country},{year}-{month:02d},{n * 7 % 61}\n")
    return "".join(lines).encode()


def small_csv(indicator: str, round_: int, year: int = 2024) -> bytes:
    """Ten rows in one year, different each round so each is a real change."""
    rows = [
        f"UZB,{indicator},F,{AGES[n % 2]},{COUNTRIES[n // 2 % 2]},{year}-{n + 1:02d},{round_ + n}\n"
        for n in range(10)
    ]
    return (HEADER + "".join(rows)).encode()


def large_csv(rows: int) -> bytes:
    keys = itertools.product(("F", "M"), AGES, COUNTRIES, range(1800, 2030), range(1, 13))
    lines = [HEADER]
    for n, (sex, age, country, year, month) in enumerate(itertools.islice(keys, rows)):
        lines.append(f"UZB,RETURNED,{sex},{age},{country},{year}-{month:02d},{n % 97}\n")
    return "".join(lines).encode()


def run_import(database: Database, body: bytes) -> float:
    started = time.perf_counter()
    request = ImportRequest(body, True, "create_and_update", True, False)
    with database.transaction() as session:
        set_tenant(session, "UZB")
        report = statistics.run_import(session, agency("UZB"), request, database.settings.min_cell)
    if report.status == "ERROR":
        raise RuntimeError(report.model_dump())
    return time.perf_counter() - started


@contextmanager
def databases(postgresql: str | None) -> Iterator[list[tuple[str, str]]]:
    folder = tempfile.mkdtemp(prefix="recnet-bench-")
    urls = [("SQLite", f"sqlite:///{folder}/bench.db")]
    created = None
    if postgresql:
        created = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(postgresql, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {created}"))
        urls.append(("PostgreSQL", postgresql.rsplit("/", 1)[0] + f"/{created}"))
    try:
        for _, url in urls:
            env = {**os.environ, "RECNET_DATABASE_URL": url}
            subprocess.run([RECNET, "migrate"], env=env, check=True)
        yield urls
    finally:
        if created:
            with admin.connect() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS {created} WITH (FORCE)"))


def small_beside_history(database: Database, years: int, rounds: int) -> dict[str, float]:
    run_import(database, history_csv("EMPLOYED", range(2024 - years + 1, 2025)))
    full, empty = [], []
    for round_ in range(rounds):
        # Each round changes a year of its own: one with a year of monthly figures published
        # once, beside an empty one (the release history is append-only: no partition is
        # emptied again).
        full.append(run_import(database, small_csv("EMPLOYED", round_, 2024 - round_)))
        empty.append(run_import(database, small_csv("AMNESTIED", round_, 2024 - round_)))
    # One partition's cost as its releases pile up: ten more imports into the same year.
    repeated = [run_import(database, small_csv("EMPLOYED", 100 + n, 2024)) for n in range(10)]
    return {
        "history": median(full),
        "empty": median(empty),
        "second_release": repeated[0],
        "twelfth_release": repeated[-1],
    }


def large_import(database: Database, rows: int) -> dict[str, float]:
    body = large_csv(rows)
    spent = [0.0]
    original = protection.protect

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - started

    protection.protect = timed  # type: ignore[assignment]
    try:
        seconds = run_import(database, body)
    finally:
        protection.protect = original  # type: ignore[assignment]
    # The process's peak resident memory so far (tracemalloc would slow the import severalfold).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "seconds": seconds,
        "rows_per_second": rows / seconds,
        "peak_mib": peak / 2**20,
        "protection_share": spent[0] / seconds,
    }


def audit_time(url: str) -> float:
    env = {**os.environ, "RECNET_DATABASE_URL": url}
    started = time.perf_counter()
    subprocess.run(
        [RECNET, "statistics", "audit", "--indicator", "RETURNED"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgresql")
    parser.add_argument("--years", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    with databases(args.postgresql) as urls:
        for name, url in urls:
            database = Database.from_settings(Settings(database_url=url))
            small = small_beside_history(database, args.years, args.rounds)
            print(
                f"{name}: 10-row import beside {args.years} years of monthly figures "
                f"{small['history'] * 1000:.0f} ms, into an empty indicator "
                f"{small['empty'] * 1000:.0f} ms: {small['history'] / small['empty']:.2f}x"
            )
            print(
                f"{name}: the same partition, release 3 {small['second_release'] * 1000:.0f} ms, "
                f"release 12 {small['twelfth_release'] * 1000:.0f} ms"
            )
            large = large_import(database, args.rows)
            print(
                f"{name}: {args.rows:,}-row import {large['seconds']:.1f} s "
                f"({large['rows_per_second']:,.0f} rows/s), peak RSS {large['peak_mib']:.0f} MiB "
                f"(the process), protection {large['protection_share']:.0%} of the time"
            )
            database.dispose()
            print(f"{name}: recnet statistics audit (RETURNED) {audit_time(url):.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
