"""Thread-pool and connection-pool calibration of ``recnet serve``.

Measures how ``RECNET_THREADS`` (the threads that run the sync routes) and ``RECNET_DB_POOL_SIZE``
(the SQLAlchemy connections they share) affect the throughput and latency of
``GET /v1/organisations`` (a sync route, one SELECT through one session per request), on SQLite
and on PostgreSQL. ``GET /v1/health`` (async, no database) is measured once per round as a
reference ceiling.

Each configuration gets its own ``recnet serve`` process (one uvicorn worker, JSON access log
silenced) on a free port of 127.0.0.1; after a 2 s wrk warm-up, wrk runs with 32 connections and
2 threads for the given duration. The whole grid runs twice, interleaved (round 1 over every
configuration, then round 2), so that the spread between the two rounds shows the noise.
Results are printed and written to ``bench/RESULTS.md`` under
"## Thread-pool and connection-pool calibration" (only that section is replaced).

Needs ``wrk`` on PATH and a PostgreSQL server where the bench may create and drop its own
database (``--pg-url``, default ``postgresql://postgres@127.0.0.1:5432``).

    .venv/bin/python bench/pools.py [--duration 10] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
TOP_HEADING = "# recnet benchmarks"
SECTION = "## Thread-pool and connection-pool calibration"

HOST = "127.0.0.1"
CONNECTIONS = 32
WRK_THREADS = 2
WARMUP_SECONDS = 2
# wrk leaves requests slower than its timeout (default 2 s) out of the latency figures; a long
# timeout keeps every answer, including a 503 after the 5 s pool timeout, in the percentiles.
WRK_TIMEOUT = "10s"
THREAD_GRID = (1, 2, 4, 8, 16, 40)
EXTRA_POSTGRESQL = ((40, 4), (4, 40))
REFERENCE_THREADS = 4
PG_DATABASE = "recnet_bench"
# Far above what a run sends: the bench measures the pools, not the per-address rate limit.
RATE_LIMIT_OFF = "1000000000"
STARTUP_TIMEOUT = 20.0
# The server is disposable: after this, requests still stuck in it are not waited for.
STOP_TIMEOUT = 3.0

ORGANISATIONS = "/v1/organisations"
HEALTH = "/v1/health"


@dataclass(frozen=True)
class Config:
    """One server configuration of the grid."""

    backend: str  # "sqlite" or "postgresql"
    threads: int
    pool: int
    path: str = ORGANISATIONS

    @property
    def label(self) -> str:
        target = "" if self.path == ORGANISATIONS else f" {self.path}"
        return f"{self.backend} threads={self.threads} pool={self.pool}{target}"


@dataclass(frozen=True)
class Measurement:
    """What one wrk run reported."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors

    @property
    def ok(self) -> bool:
        """Every answer a success, and at least one answer (a stalled server gives none)."""
        return self.errors == 0 and self.requests > 0

    @property
    def errors_cell(self) -> str:
        return "stalled" if self.requests == 0 else str(self.errors)


@dataclass
class Row:
    config: Config
    runs: list[Measurement] = field(default_factory=list)

    @property
    def mean_rps(self) -> float:
        return sum(m.requests_per_second for m in self.runs) / len(self.runs)

    @property
    def ok(self) -> bool:
        return all(m.ok for m in self.runs)

    @property
    def spread(self) -> float:
        """(max - min) / mean of the req/s of the rounds."""
        rates = [m.requests_per_second for m in self.runs]
        return (max(rates) - min(rates)) / self.mean_rps if self.mean_rps else 0.0


# --- wrk ---------------------------------------------------------------------------------------

_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_LATENCY = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in ", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def parse_wrk(output: str) -> Measurement:
    """The figures of ``wrk --latency`` output; raises ValueError when a figure is missing."""
    latencies = {q: float(v) * _UNITS_MS[u] for q, v, u in _LATENCY.findall(output)}
    rps, total = _RPS.search(output), _TOTAL.search(output)
    if rps is None or total is None or set(latencies) != {"50", "99"}:
        raise ValueError(f"unexpected wrk output:\n{output}")
    non_2xx = _NON_2XX.search(output)
    socket_errors = _SOCKET.search(output)
    return Measurement(
        requests_per_second=float(rps.group(1)),
        p50_ms=latencies["50"],
        p99_ms=latencies["99"],
        requests=int(total.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(map(int, socket_errors.groups())) if socket_errors else 0,
    )


def wrk_command(url: str, seconds: int) -> list[str]:
    return [
        "wrk",
        f"--threads={WRK_THREADS}",
        f"--connections={CONNECTIONS}",
        f"--duration={seconds}s",
        f"--timeout={WRK_TIMEOUT}",
        "--latency",
        url,
    ]


def run_wrk(url: str, seconds: int) -> Measurement:
    result = subprocess.run(
        wrk_command(url, seconds),
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    )
    return parse_wrk(result.stdout)


# --- databases and servers ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Workspace:
    """The bench's temporary directory, holding the code under test and the server logs."""

    root: Path

    @property
    def code(self) -> Path:
        return self.root / "code"

    @classmethod
    def snapshot(cls, root: Path) -> Workspace:
        """Copy the code as it is now: every server runs the same code, whatever is edited later.

        ``PYTHONPATH`` puts the copy ahead of the editable install of the checkout.
        """
        workspace = cls(root)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        for part in ("src", "migrations"):
            shutil.copytree(ROOT / part, workspace.code / part, ignore=ignore)
        probe = subprocess.run(
            [sys.executable, "-c", "import recnet; print(recnet.__file__)"],
            env=workspace.env(),
            capture_output=True,
            text=True,
            check=True,
        )
        if not Path(probe.stdout.strip()).is_relative_to(workspace.code):
            raise RuntimeError(f"recnet imported from {probe.stdout.strip()}, not the snapshot")
        return workspace

    def env(
        self, database_url: str = "", threads: int | None = None, pool: int | None = None
    ) -> dict[str, str]:
        """The environment of a recnet process: ours, without any RECNET_ setting inherited."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("RECNET_")}
        env["PYTHONPATH"] = str(self.code / "src")
        if database_url:
            env["RECNET_DATABASE_URL"] = database_url
        env.update(
            RECNET_LOG_LEVEL="WARNING",
            RECNET_RATE_ANONYMOUS=RATE_LIMIT_OFF,
        )
        if threads is not None:
            env["RECNET_THREADS"] = str(threads)
        if pool is not None:
            env["RECNET_DB_POOL_SIZE"] = str(pool)
        return env


def migrate(workspace: Workspace, database_url: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "recnet", "migrate"],
        env=workspace.env(database_url),
        check=True,
        capture_output=True,
        timeout=120,
    )


@contextlib.contextmanager
def postgresql_database(server_url: str, name: str) -> Iterator[str]:
    """A fresh database on the server, dropped on the way out; yields its URL."""

    def execute(statement: sql.Composed) -> None:
        with psycopg.connect(f"{server_url}/postgres", autocommit=True, connect_timeout=5) as conn:
            conn.execute(statement)

    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    execute(drop)
    execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{server_url}/{name}"
    finally:
        execute(drop)


def wait_healthy(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"recnet serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(base_url + HEALTH, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"recnet serve not healthy after {STARTUP_TIMEOUT} s:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


@contextlib.contextmanager
def server(workspace: Workspace, database_url: str, config: Config) -> Iterator[str]:
    """``recnet serve`` with the configuration, healthy; yields its base URL, stops it after."""
    port = free_port()
    log = workspace.root / f"serve-{port}.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "recnet", "serve", "--host", HOST, "--port", str(port)]
            + ["--no-migrate"],
            env=workspace.env(database_url, config.threads, config.pool),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=workspace.root,
        )
        try:
            base_url = f"http://{HOST}:{port}"
            wait_healthy(process, base_url, log)
            yield base_url
        finally:
            stop(process)


def check_answer(url: str) -> None:
    """One request before the load: the endpoint must answer 200, or the figures mean nothing."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    if status != 200:
        raise RuntimeError(f"GET {url} answered {status}, expected 200")


def measure(workspace: Workspace, database_url: str, config: Config, seconds: int) -> Measurement:
    with server(workspace, database_url, config) as base_url:
        check_answer(base_url + config.path)
        run_wrk(base_url + config.path, WARMUP_SECONDS)
        return run_wrk(base_url + config.path, seconds)


# --- the grid ----------------------------------------------------------------------------------


def grid() -> list[Config]:
    configs = [Config("sqlite", REFERENCE_THREADS, REFERENCE_THREADS, HEALTH)]
    for backend in ("sqlite", "postgresql"):
        configs += [Config(backend, n, n) for n in THREAD_GRID]
    configs += [Config("postgresql", t, p) for t, p in EXTRA_POSTGRESQL]
    return configs


def run_grid(seconds: int, rounds: int, pg_url: str) -> list[Row]:
    rows = [Row(config) for config in grid()]
    with (
        tempfile.TemporaryDirectory(prefix="recnet-bench-") as tmp,
        postgresql_database(pg_url, PG_DATABASE) as pg_database,
    ):
        workspace = Workspace.snapshot(Path(tmp))
        urls = {"sqlite": f"sqlite:///{workspace.root / 'bench.db'}", "postgresql": pg_database}
        for url in urls.values():
            migrate(workspace, url)
        for round_number in range(1, rounds + 1):
            for row in rows:
                started = time.monotonic()
                m = measure(workspace, urls[row.config.backend], row.config, seconds)
                row.runs.append(m)
                print(
                    f"round {round_number}  {row.config.label:<40} {m.requests_per_second:8.1f} "
                    f"req/s  p50 {m.p50_ms:8.1f} ms  p99 {m.p99_ms:8.1f} ms  errors {m.errors}"
                    f"  ({time.monotonic() - started:.0f} s)",
                    flush=True,
                )
    return rows


# --- report ------------------------------------------------------------------------------------


def _latencies(runs: Sequence[Measurement], quantile: str) -> str:
    """One latency per run; "-" for a run that got no answer (wrk then reports 0)."""
    return " / ".join(
        f"{m.p50_ms if quantile == 'p50' else m.p99_ms:.1f}" if m.requests else "-" for m in runs
    )


def table(rows: Sequence[Row]) -> str:
    header = [
        "backend",
        "path",
        "threads",
        "pool",
        "req/s run1",
        "req/s run2",
        "p50 ms (run1 / run2)",
        "p99 ms (run1 / run2)",
        "errors (run1 / run2)",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        c, runs = row.config, row.runs
        rps = [f"{m.requests_per_second:.0f}" for m in runs] + ["-"] * (2 - len(runs))
        cells = [
            c.backend if c.path == ORGANISATIONS else "(none)",
            f"`{c.path}`",
            str(c.threads),
            str(c.pool),
            *rps[:2],
            _latencies(runs, "p50"),
            _latencies(runs, "p99"),
            " / ".join(m.errors_cell for m in runs),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(rows: Sequence[Row]) -> list[str]:
    """Best and worst configuration per backend, computed from the mean of the rounds."""
    lines = []
    for backend in ("sqlite", "postgresql"):
        measured = [r for r in rows if r.config.backend == backend and r.config.path != HEALTH]
        clean = [r for r in measured if r.ok]
        failed = [r for r in measured if not r.ok]
        if clean:
            best = max(clean, key=lambda r: r.mean_rps)
            worst_clean = min(clean, key=lambda r: r.mean_rps)
            lines.append(
                f"- {backend}: best without errors threads={best.config.threads} "
                f"pool={best.config.pool} ({best.mean_rps:.0f} req/s mean, p99 "
                f"{_latencies(best.runs, 'p99')} ms); best/worst without errors "
                f"{best.mean_rps / worst_clean.mean_rps:.2f}x (worst threads="
                f"{worst_clean.config.threads} pool={worst_clean.config.pool}, "
                f"{worst_clean.mean_rps:.0f} req/s)."
            )
            noise = max(r.spread for r in clean)
            lines.append(
                f"- {backend}: round-to-round difference of req/s up to {noise:.0%} on the "
                "configurations without errors (the noise floor of these figures)."
            )
            worst = min(measured, key=lambda r: r.mean_rps)
            if failed:
                ratio = (
                    f"{best.mean_rps / worst.mean_rps:.1f}x" if worst.mean_rps > 0 else "unbounded"
                )
                lines.append(
                    f"- {backend}: best/worst over every configuration {ratio} (worst threads="
                    f"{worst.config.threads} pool={worst.config.pool}, {worst.mean_rps:.1f} req/s)."
                )
        if failed:
            names = ", ".join(f"{r.config.threads}/{r.config.pool}" for r in failed)
            lines.append(
                f"- {backend}: errors (non-2xx, socket errors, or no answer at all) with "
                f"threads/pool {names}."
            )
    return lines


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    return (
        f"nproc {os.cpu_count()} ({cpu}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}, {wrk.split(' [')[0].strip() or 'wrk'}"
    )


def revision() -> str:
    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return result.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "src", "migrations")
    return head + (" (with uncommitted changes in src/ or migrations/)" if dirty else "")


def section(rows: Sequence[Row], command: str, seconds: int, load: str, code: str) -> str:
    return "\n".join(
        [
            SECTION,
            "",
            f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"- machine: {machine()}; load average before the run {load}",
            f"- code: {code}, copied at the start of the run",
            f"- command: `{command}`",
            "",
            f"One `recnet serve` (1 uvicorn worker) per configuration, `RECNET_THREADS`=threads, "
            f"`RECNET_DB_POOL_SIZE`=pool; {WARMUP_SECONDS} s warm-up, then `wrk --latency` with "
            f"{CONNECTIONS} connections, {WRK_THREADS} wrk threads, {seconds} s, timeout "
            f"{WRK_TIMEOUT}, on 127.0.0.1 (wrk shares the cores with the server). The grid ran "
            "twice, interleaved. PostgreSQL may open pool + max(1, pool // 2) connections "
            "(overflow), SQLite exactly pool. `/v1/health` (async, no database) is the "
            "reference ceiling. The per-address rate limit is lifted "
            f"(`RECNET_RATE_ANONYMOUS={RATE_LIMIT_OFF}`). Errors are non-2xx answers plus wrk "
            'socket errors; "stalled" means no answer at all during the run; req/s counts '
            "every answer, errors included.",
            "",
            table(rows),
            "",
            *summary(rows),
            "",
        ]
    )


def write_results(text: str, path: Path = RESULTS, heading: str = SECTION) -> None:
    """Replace (or append) the section under ``heading`` of the results file (by default this
    bench's), leaving the others as they are."""
    current = path.read_text(encoding="utf-8") if path.exists() else f"{TOP_HEADING}\n"
    lines = current.splitlines()
    if heading in lines:
        start = lines.index(heading)
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        lines[start:end] = text.rstrip("\n").splitlines() + ([""] if end < len(lines) else [])
    else:
        lines += ["", *text.rstrip("\n").splitlines()]
    path.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per run (default 10)")
    parser.add_argument("--quick", action="store_true", help="3 s per run, for a smoke test")
    parser.add_argument(
        "--pg-url",
        default="postgresql://postgres@127.0.0.1:5432",
        help="PostgreSQL server (no database) where the bench may create its own",
    )
    args = parser.parse_args(argv)
    seconds = 3 if args.quick else args.duration
    if shutil.which("wrk") is None:
        parser.error("wrk not found: apt-get install -y wrk")

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    code = revision()
    rows = run_grid(seconds, rounds=2, pg_url=args.pg_url)
    command = shlex.join([".venv/bin/python", "bench/pools.py", *(argv or sys.argv[1:])])
    text = section(rows, command, seconds, load, code)
    print()
    print(text)
    write_results(text)
    print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
