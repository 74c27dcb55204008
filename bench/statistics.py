"""Statistics at scale: a 100,000-row CSV import and a 1,000,000-row CSV export, on each backend.

Each measurement runs against a real `recnet serve` process on 127.0.0.1. Memory is the server's
own: its resident set before the request and its peak (VmHWM, reset before each measurement
through /proc/PID/clear_refs), so the figures are what the service itself needed.

    .venv/bin/python bench/statistics.py [--backends sqlite,postgresql] [--export-rows 1000000]

Results are printed and written to bench/RESULTS.md (section "Statistics import and export").
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
HEADER = ["REF_AREA", "INDICATOR", "SEX", "AGE", "COUNTERPART_AREA", "TIME_PERIOD", "OBS_VALUE"]
INDICATORS = [
    "RETURNED", "IN_REHABILITATION", "DOCUMENTS_ISSUED", "ENROLLED_EDUCATION",
    "IN_VOCATIONAL_TRAINING", "EMPLOYED", "REUNITED_FAMILY", "PROSECUTED", "AMNESTIED",
]  # fmt: skip
SEXES = ["F", "M", "_T"]
AGES = ["Y0T4", "Y5T11", "Y12T17", "Y18T59", "Y_GE60", "_U", "_T"]
COUNTRIES = ["SYR", "IRQ", "AFG", "TUR", "_O", "_U", "_T"]
STATES = ["KAZ", "KGZ", "TJK", "TKM", "UZB"]


def months() -> list[str]:
    """Enough monthly periods for any key space here (itertools.product takes them whole)."""
    return [f"{year}-{month:02d}" for year in range(1800, 2030) for month in range(1, 13)]


def import_csv(rows: int) -> bytes:
    """UZB's parts only (no totals), monthly, so the batch is consistent by construction."""
    keys = itertools.product(INDICATORS[:4], ["F", "M"], AGES[:5], COUNTRIES[:5], months())
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for index, (indicator, sex, age, country, period) in enumerate(itertools.islice(keys, rows)):
        writer.writerow(["UZB", indicator, sex, age, country, period, index % 97])
    return buffer.getvalue().encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS


@contextmanager
def server(url: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {**os.environ, "RECNET_DATABASE_URL": url, "RECNET_LOG_LEVEL": "WARNING",
           "RECNET_RATE_ANONYMOUS": "1000000000", "RECNET_RATE_CLIENT": "1000000000"}  # fmt: skip
    process = subprocess.Popen(
        [PYTHON, "-m", "recnet", "serve", "--port", str(port), "--no-migrate"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                httpx.get(f"{base}/v1/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base, process.pid
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def recnet(url: str, *args: str) -> str:
    env = {**os.environ, "RECNET_DATABASE_URL": url}
    return subprocess.run(
        [PYTHON, "-m", "recnet", *args], env=env, check=True, capture_output=True, text=True
    ).stdout


def seed_export(url: str, rows: int) -> None:
    """Fill the published cube directly (as the owner): an export reads only the cube."""
    keys = itertools.product(STATES, INDICATORS, SEXES, AGES, COUNTRIES, months())
    now = datetime.now(UTC)
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    columns = (
        "ref_area, indicator, sex, age, counterpart_area, time_period, frequency, derived, "
        "exact_value, published_value, conf_status, obs_status, unit_measure, updated_at"
    )
    with engine.begin() as connection:
        raw = connection.connection.dbapi_connection
        values = (
            (*key, "M", False, i % 50, (i % 50) if i % 50 >= 5 or i % 50 == 0 else None,
             "F" if i % 50 >= 5 or i % 50 == 0 else "C", "A", "PS")
            for i, key in enumerate(itertools.islice(keys, rows))
        )  # fmt: skip
        if url.startswith("postgresql"):
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY statistics_cube ({columns}) FROM STDIN") as copy,
            ):
                for row in values:
                    copy.write_row((*row, now))
        else:
            stamp = now.replace(tzinfo=None).isoformat(sep=" ")
            raw.executemany(
                f"INSERT INTO statistics_cube ({columns}) VALUES ({', '.join('?' * 14)})",
                ((*row, stamp) for row in values),
            )
    engine.dispose()


def measure(backend: str, url: str, export_rows: int) -> dict[str, object]:
    recnet(url, "migrate")
    credentials = json.loads(
        recnet(url, "clients", "create", "--org", "UZB", "--name", "bench",
               "--scopes", "statistics:write", "--json")
    )  # fmt: skip
    body = import_csv(100_000)
    result: dict[str, object] = {"backend": backend}
    with server(url) as (base, pid), httpx.Client(base_url=base, timeout=600) as http:
        token = http.post(
            "/v1/auth/token",
            data={"grant_type": "client_credentials"},
            auth=(credentials["client_id"], credentials["client_secret"]),
        ).json()["access_token"]
        http.get("/v1/statistics/structure")
        before = status_kib(pid, "VmRSS")
        reset_peak(pid)
        started = time.perf_counter()
        response = http.post(
            "/v1/statistics/observations",
            content=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
        )
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.text[:300]
        assert response.json()["counts"]["imported"] == 100_000
        result.update(
            import_seconds=round(elapsed, 2),
            import_rows_per_s=round(100_000 / elapsed),
            import_rss_before_mib=round(before / 1024, 1),
            import_peak_growth_mib=round((status_kib(pid, "VmHWM") - before) / 1024, 1),
            body_mib=round(len(body) / 2**20, 1),
        )
    seed_export(url, export_rows)
    with server(url) as (base, pid), httpx.Client(base_url=base, timeout=600) as http:
        http.get("/v1/statistics/observations", params={"limit": 10})
        before = status_kib(pid, "VmRSS")
        reset_peak(pid)
        started = time.perf_counter()
        lines = size = 0
        with http.stream("GET", "/v1/statistics/observations", params={"format": "csv"}) as stream:
            for chunk in stream.iter_bytes():
                size += len(chunk)
                lines += chunk.count(b"\n")
        elapsed = time.perf_counter() - started
        result.update(
            export_rows=lines - 1,
            export_seconds=round(elapsed, 2),
            export_rows_per_s=round((lines - 1) / elapsed),
            export_mib=round(size / 2**20, 1),
            export_rss_before_mib=round(before / 1024, 1),
            export_peak_growth_mib=round((status_kib(pid, "VmHWM") - before) / 1024, 1),
        )
        assert lines - 1 >= export_rows
    return result


@contextmanager
def database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    admin = create_engine(PG_ADMIN.replace("postgresql://", "postgresql+psycopg://"),
                          isolation_level="AUTOCOMMIT")  # fmt: skip
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS recnet_bench_stats WITH (FORCE)"))
        connection.execute(text("CREATE DATABASE recnet_bench_stats"))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/recnet_bench_stats"
    finally:
        with admin.connect() as connection:
            connection.execute(text("DROP DATABASE IF EXISTS recnet_bench_stats WITH (FORCE)"))
        admin.dispose()


def write_results(results: list[dict[str, object]], command: str) -> str:
    lines = [
        "## Statistics import and export",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: nproc {os.cpu_count()}, "
        f"Python {platform.python_version()}",
        f"- command: `{command}`",
        "- one `recnet serve` process per measurement on 127.0.0.1; memory is the server's: RSS "
        "before the request and growth of its peak (VmHWM) during it",
        "- import: 100,000 observations in one CSV request (full validation, set-based writes, "
        "the event, and the rebuild of the published cube with disclosure control)",
        "- export: the published cube seeded with the given number of rows, then "
        "`GET /v1/statistics/observations?format=csv` streamed to the end",
        "",
        "| backend | import s | import rows/s | import peak growth MiB | export rows | export s "
        "| export rows/s | export MiB | export peak growth MiB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['backend']} | {r['import_seconds']} | {r['import_rows_per_s']} "
            f"| {r['import_peak_growth_mib']} | {r['export_rows']} | {r['export_seconds']} "
            f"| {r['export_rows_per_s']} | {r['export_mib']} | {r['export_peak_growth_mib']} |"
        )
    section = "\n".join(lines) + "\n"
    path = ROOT / "bench" / "RESULTS.md"
    current = path.read_text() if path.exists() else "# recnet benchmarks\n"
    start = current.find("## Statistics import and export")
    if start >= 0:
        end = current.find("\n## ", start + 1)
        current = current[:start] + current[end + 1 :] if end >= 0 else current[:start]
    path.write_text(current.rstrip("\n") + "\n\n" + section)
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--export-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    results = []
    for backend in args.backends.split(","):
        with database(backend) as url:
            results.append(measure(backend, url, args.export_rows))
            print(json.dumps(results[-1]), flush=True)
    command = "python bench/statistics.py " + " ".join(sys.argv[1:])
    print(write_results(results, command.strip()))


if __name__ == "__main__":
    main()
