"""The performance suite of issue 8: recnet beside the stack's ceiling and a peer, in one run.

Machines here are shared and noisy, so every figure that counts is a ratio of two measurements
taken in the same round, on the same database and data, and the reported ratio is the median
over the rounds; the rounds are interleaved (round 1 of every scenario on every backend, then
round 2, ...).

Method
- Code: a snapshot of ``src/`` and ``migrations/`` taken at the start (``pools.Workspace``);
  every recnet process runs it: ``python -m recnet serve --no-migrate`` (one uvicorn worker,
  default threads and pool, rate limits lifted).
- Data (``bench/dataset.py``, through recnet's own services, deterministic): practices and
  programmes over the five tenants in several languages, every marking and status; merge-patch
  updates so the log holds the feed's events; statistics observations over ten years (imported,
  so the published cube is recnet's own). The same data goes into a fresh SQLite file and a
  fresh PostgreSQL database, both made by ``recnet migrate``. Two more databases per backend:
  an export database whose published cube holds the export's rows (seeded by
  ``bench/statistics.py``'s ``seed_export``), and a migrated, empty import template copied
  afresh for every import.
- Load: ``wrk`` on 127.0.0.1 with ``bench/wrk/paths.lua``: each request takes a path at random
  from a pre-checked list and, for the list and search scenarios, adds an ``updated_since``
  before any data, unique to the request, so no answer can be reused; 1 s warm-up, then the
  measured duration. Server CPU per request: utime+stime of the server process and its
  children (``/proc/PID/stat``) over the measurement divided by its requests (the database
  server's own CPU is not included).
- References (``bench/references.py``, bare Starlette + raw driver + orjson, one uvicorn
  worker): the list ceiling, a constant body of the size of recnet's repeated answer, the feed
  ceiling, the COPY ingest limit. The floor of recnet's fixed stack (``bench/floor.py``, run
  as the references are, with the snapshot's enums): the list ceiling's SQL and answer bytes
  behind a FastAPI sync route declaring recnet's list parameters, the SQL through the raw driver
  ("floor-fastapi") or through a SQLAlchemy Session per request on an engine pooled as
  recnet's ("floor-sqlalchemy"); no recnet logic, so recnet / floor-sqlalchemy is what recnet
  adds to its stack, floor / ceiling what the stack costs. Datasette (its own venv under
  ``bench/out/``) serves a copy of the same SQLite file, ``-i``, facets off. The export limit
  is ``COPY ... TO STDOUT`` timed through psycopg and the ``sqlite3 -csv`` command line. The
  aggregate references are the SQL alone, timed in this process through the raw driver.
- Checks, before any measurement: every list path is answered by recnet with 200 and the
  same item ids as the ceiling (filters giving fewer than 5 items are left out), and by both
  floor routes with the ceiling's bytes; every search, aggregate and Datasette path and the
  repeated URL answer 200 with items; a full pass of the change feed gives items; imports and
  exports are checked for their row counts. wrk's non-2xx answers and socket errors are
  counted and reported.

    .venv/bin/python bench/suite.py [--quick] [--rounds N] [--duration S]
                                    [--backend sqlite|postgresql|both] [--no-write]
                                    [--only list,search,...] [--profile DIR]

``--only`` runs some scenarios (the others are neither prepared nor measured), for measuring
one change quickly; ``--profile DIR`` adds, after each round's measured recnet list run, one
more list run of the same length with py-spy attached to the recnet server (``--format raw``,
only the thread holding the GIL, one file per backend and round in DIR): it is not measured,
so the figures are unaffected.

Results are printed and written to bench/RESULTS.md, section "## Performance suite (issue 8)"
(only that section is replaced).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import random
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

# The benches share their set-up (run as scripts, bench/ is on the path).
from pools import (
    Measurement,
    Workspace,
    free_port,
    machine,
    migrate,
    parse_wrk,
    postgresql_database,
    revision,
    stop,
    write_results,
)
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "RESULTS.md"
SECTION = "## Performance suite (issue 8)"
OUT = BENCH / "out"
DATASETTE_VENV = OUT / "datasette-venv"
LUA = BENCH / "wrk" / "paths.lua"
HOST = "127.0.0.1"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
RATE_LIMIT_OFF = "1000000000"
STARTUP_TIMEOUT = 60.0
WARMUP_SECONDS = 1
WRK_TIMEOUT = "10s"
STAMP_RECNET = "!%Y-%m-%dT%H:%M:%SZ"
STAMP_DATASETTE = "!%Y-%m-%d%%20%H:%M:%S"
KEY = "ref_area, indicator, sex, age, counterpart_area, time_period"
EXPORT_COLUMNS = f"{KEY}, published_value, obs_status, conf_status, unit_measure, source, comment"


def _load_statistics_bench() -> Any:
    """bench/statistics.py, under another name: as ``statistics`` it would hide the stdlib's."""
    spec = importlib.util.spec_from_file_location("bench_statistics", BENCH / "statistics.py")
    if spec is None or spec.loader is None:
        raise RuntimeError("bench/statistics.py not found")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


stats_bench = _load_statistics_bench()


@dataclass(frozen=True)
class Size:
    practices: int
    programmes: int
    updates: int
    observations: int
    imported: int
    exported: int


FULL = Size(2000, 1000, 7000, 200_000, 100_000, 1_000_000)
QUICK = Size(400, 200, 1400, 40_000, 20_000, 200_000)

SEARCH_WORDS = (
    "mahalla",
    "children",
    "vocational",
    "amnesty",
    "psychologists",
    "lending",
    "documents",
    "reunited",
    "teachers",
    "stigma",
    "employment",
    "adolescents",
    "rehabilitation",
    "scholars",
    "grandparents",
    "vaccinations",
    "дети",
    "семьи",
    "обучение",
    "амнистию",
)
TAG_CHOICES = {
    "working_group": (
        "accountability_legal",
        "psychosocial_health_education",
        "countering_narratives",
        "civil_society",
    ),
    "approach": (
        "civil_documentation",
        "legal_aid_amnesty",
        "medical",
        "psychosocial",
        "education",
        "mobile_classes",
        "vocational_training",
        "employment",
        "preferential_lending",
        "family_reunification",
        "community_mahalla",
        "multi_agency",
        "risk_assessment",
    ),
    "target_group": (
        "women",
        "girls",
        "boys",
        "children_5_11",
        "children_12_17",
        "families",
        "host_communities",
        "practitioners",
    ),
    "evidence_level": (
        "not_evaluated",
        "monitoring",
        "internal_evaluation",
        "external_evaluation",
        "peer_reviewed",
    ),
    "lang": ("en", "ru", "kk", "ky", "tg", "tk", "uz"),
}
TENANTS = ("KAZ", "KGZ", "TJK", "TKM", "UZB")
AGGREGATE_BY = ("REF_AREA,TIME_PERIOD", "TIME_PERIOD,SEX", "TIME_PERIOD,COUNTERPART_AREA")
AGGREGATE_INDICATORS = (
    "RETURNED",
    "IN_REHABILITATION",
    "DOCUMENTS_ISSUED",
    "ENROLLED_EDUCATION",
    "IN_VOCATIONAL_TRAINING",
    "EMPLOYED",
    "REUNITED_FAMILY",
    "PROSECUTED",
    "AMNESTIED",
)
AGGREGATE_YEARS = ((2015, 2024), (2016, 2020), (2018, 2023), (2020, 2024))
REPEATED = "/v1/practices?limit=50"
SCENARIOS = ("list", "repeated", "search", "aggregates", "feed", "import", "export")
MIN_LIST_ITEMS = 5
FLOORS = ("fastapi", "sqlalchemy")  # the floor's routes: /floor/<name>/practices
FEED_KINDS = "practice,programme"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------- processes


def cpu_seconds(pid: int) -> float:
    """utime+stime (and those of waited-for children) of a process and its descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(v) for v in fields[11:15]) / ticks
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(c) for c in children)
    return total


@contextlib.contextmanager
def process(
    command: Sequence[str], env: dict[str, str], health: str, log_path: Path, cwd: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process, answering ``health`` with 200 before it is yielded; stopped after."""
    with log_path.open("ab") as log_file:
        proc = subprocess.Popen(
            list(command), env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=cwd
        )
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{command[:4]} exited:\n{log_path.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(health, timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{command[:4]} not healthy:\n{log_path.read_text()}")
                time.sleep(0.1)
            yield proc
        finally:
            stop(proc)


@dataclass
class Server:
    base: str
    pid: int


@dataclass
class Backend:
    """One database backend: its databases and what the preparation found in them."""

    name: str
    main: str
    export: str
    template: str
    sqlite_file: Path | None = None
    datasette_file: Path | None = None
    partner: dict[str, str] = field(default_factory=dict)
    agency: dict[str, str] = field(default_factory=dict)
    list_paths: Path | None = None
    search_paths: Path | None = None
    aggregate_paths: Path | None = None
    datasette_paths: Path | None = None
    constant: Path | None = None
    feed_rows: int = 0
    generation: dict[str, Any] = field(default_factory=dict)


class Suite:
    def __init__(
        self,
        workspace: Workspace,
        size: Size,
        seconds: int,
        pg_url: str,
        only: Sequence[str] = SCENARIOS,
        profile: Path | None = None,
        against: Workspace | None = None,
    ) -> None:
        self.workspace = workspace
        self.only = set(only)
        self.profile = profile
        self.against = against
        self.round_number = 0
        self.size = size
        self.seconds = seconds
        self.pg_url = pg_url
        self.salt = 0
        self.notes: list[str] = []
        # results[backend][measurement] = one entry per round
        self.results: dict[str, dict[str, list[dict[str, float]]]] = {}

    # ---------------------------------------------------------------- servers

    def recnet_env(self, url: str, workspace: Workspace | None = None) -> dict[str, str]:
        env = (workspace or self.workspace).env(url)
        env["RECNET_RATE_CLIENT"] = RATE_LIMIT_OFF
        return env

    @contextlib.contextmanager
    def recnet(self, url: str, workspace: Workspace | None = None) -> Iterator[Server]:
        """A recnet server on the snapshot (or on ``workspace``'s code: ``--against``)."""
        port = free_port()
        command = [sys.executable, *f"-m recnet serve --host {HOST} --port {port}".split()]
        command.append("--no-migrate")
        base = f"http://{HOST}:{port}"
        with process(
            command,
            self.recnet_env(url, workspace),
            base + "/v1/health",
            self.workspace.root / "recnet.log",
            self.workspace.root,
        ) as proc:
            yield Server(base, proc.pid)

    @contextlib.contextmanager
    def references(self, database: str, app: str = "references", **extra: str) -> Iterator[Server]:
        """A reference server: ``bench/<app>.py``'s ``app`` (``floor``: the fixed stack's floor,
        which imports recnet's enums, from the snapshot as recnet's processes do)."""
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RECNET_", "BENCH_"))}
        env.update(BENCH_DATABASE=database.removeprefix("sqlite:///"), **extra)
        env["PYTHONPATH"] = str(self.workspace.code / "src")
        command = [sys.executable, "-m", "uvicorn", f"{app}:app", "--app-dir", str(BENCH)]
        command += f"--host {HOST} --port {port} --workers 1 --no-access-log".split()
        command += ["--log-level", "warning"]
        base = f"http://{HOST}:{port}"
        with process(
            command,
            env,
            base + "/v1/health",
            self.workspace.root / f"{app}.log",
            self.workspace.root,
        ) as proc:
            yield Server(base, proc.pid)

    @contextlib.contextmanager
    def datasette(self, file: Path) -> Iterator[Server]:
        port = free_port()
        command = [str(DATASETTE_VENV / "bin" / "datasette"), "serve", "-i", str(file)]
        command += f"--host {HOST} --port {port}".split()
        for setting in ("suggest_facets off", "allow_facet off", "sql_time_limit_ms 10000"):
            command += ["--setting", *setting.split()]
        base = f"http://{HOST}:{port}"
        with process(
            command,
            dict(os.environ),
            base + "/-/versions.json",
            self.workspace.root / "datasette.log",
            self.workspace.root,
        ) as proc:
            yield Server(base, proc.pid)

    # ---------------------------------------------------------------- wrk

    def wrk(
        self,
        server: Server,
        connections: int,
        paths: Path | str,
        param: str = "-",
        stamp: str = STAMP_RECNET,
    ) -> dict[str, float]:
        """Warm-up, then the measured run; the figures, with server CPU per request."""

        def run(seconds: int) -> Measurement:
            self.salt += 1
            command = [
                "wrk",
                f"--threads={min(2, connections)}",
                f"--connections={connections}",
                f"--duration={seconds}s",
                f"--timeout={WRK_TIMEOUT}",
                "--latency",
            ]
            if isinstance(paths, Path):
                command += [
                    "-s",
                    str(LUA),
                    server.base,
                    "--",
                    str(paths),
                    str(self.salt),
                    param,
                    stamp,
                ]
            else:
                command.append(server.base + paths)
            out = subprocess.run(
                command, capture_output=True, text=True, check=True, timeout=seconds + 60
            )
            return parse_wrk(out.stdout)

        run(WARMUP_SECONDS)
        before = cpu_seconds(server.pid)
        m = run(self.seconds)
        cpu = cpu_seconds(server.pid) - before
        return {
            "rps": m.requests_per_second,
            "p50": m.p50_ms,
            "p99": m.p99_ms,
            "requests": m.requests,
            "errors": m.errors,
            "cpu_ms": 1000 * cpu / m.requests if m.requests else 0.0,
        }

    def record(self, backend: str, name: str, figures: dict[str, float]) -> None:
        self.results.setdefault(backend, {}).setdefault(name, []).append(figures)
        shown = ", ".join(
            f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items()
        )
        log(f"  {backend:<10} {name:<28} {shown}")

    # ---------------------------------------------------------------- preparation

    def prepare(self, backend: Backend) -> None:
        """Check every path once and keep those that answer with items."""
        folder = self.workspace.root / backend.name
        folder.mkdir(exist_ok=True)
        rng = random.Random(8)
        candidates = set()
        while len(candidates) < 400:
            params: dict[str, str] = {"limit": "50"}
            if rng.random() < 0.5:
                params["tenant"] = rng.choice(TENANTS)
            for tag in rng.sample(sorted(TAG_CHOICES), rng.randint(1, 2)):
                params[tag] = rng.choice(TAG_CHOICES[tag])
            candidates.add(urllib.parse.urlencode(params))
        # The ceiling's answer to every candidate: the filters kept are those with items.
        expected: dict[str, Any] = {}
        ceiling_bytes: dict[str, bytes] = {}
        with self.references(backend.main) as ceiling, httpx.Client(timeout=30) as http:
            for query in sorted(candidates):
                answer = http.get(f"{ceiling.base}/ceiling/practices?{query}")
                answer.raise_for_status()
                if len(answer.json()["items"]) >= MIN_LIST_ITEMS:
                    expected[query] = answer.json()
                    ceiling_bytes[query] = answer.content
        kept = list(expected)
        log(
            f"{backend.name}: {len(kept)} of {len(candidates)} list filters give "
            f">= {MIN_LIST_ITEMS} items"
        )
        backend.list_paths = folder / "list.txt"
        backend.list_paths.write_text("".join(f"/v1/practices?{q}\n" for q in kept))
        ceiling_list = folder / "ceiling-list.txt"
        ceiling_list.write_text("".join(f"/ceiling/practices?{q}\n" for q in kept))
        if "list" in self.only:
            with self.references(backend.main, "floor") as floor, httpx.Client(timeout=30) as http:
                for name in FLOORS:
                    (folder / f"floor-{name}-list.txt").write_text(
                        "".join(f"/floor/{name}/practices?{q}\n" for q in kept)
                    )
                    for query, want in ceiling_bytes.items():
                        answer = http.get(f"{floor.base}/floor/{name}/practices?{query}")
                        if answer.status_code != 200 or answer.content != want:
                            raise RuntimeError(
                                f"floor-{name} and the ceiling disagree on ?{query}: "
                                f"{answer.status_code} {answer.text[:300]}"
                            )
            log(f"{backend.name}: the floor gives the ceiling's bytes on {len(kept)} filters")
        aggregates = [
            f"/v1/statistics/aggregates?by={by}&indicator={ind}&start_period={a}&end_period={b}"
            for by in AGGREGATE_BY
            for ind in AGGREGATE_INDICATORS
            for a, b in AGGREGATE_YEARS
        ]
        searches = [f"/v1/practices?q={urllib.parse.quote(w)}&limit=50" for w in SEARCH_WORDS]
        stamp = "&updated_since=1980-01-01T00:00:00Z"
        with self.recnet(backend.main) as server, httpx.Client(timeout=60) as http:
            cursors = 0
            for query, want in expected.items():
                got = self.checked(http, f"{server.base}/v1/practices?{query}{stamp}")
                if [i["id"] for i in got["items"]] != [i["id"] for i in want["items"]]:
                    raise RuntimeError(f"recnet and the ceiling disagree on ?{query}")
                if got["next_cursor"] != want["next_cursor"]:
                    cursors += 1
            if cursors:
                self.notes.append(
                    f"{backend.name}: recnet's next_cursor differs from the ceiling's on "
                    f"{cursors} of {len(expected)} list filters"
                )
            found = []
            if "search" in self.only:
                found = [
                    p for p in searches if self.checked(http, server.base + p + stamp, empty=True)
                ]
                missing = sorted(set(searches) - set(found))
                if missing:
                    self.notes.append(
                        f"{backend.name}: search words without results, left out: "
                        + ", ".join(missing)
                    )
            if "aggregates" in self.only:
                for path in aggregates:
                    self.checked(http, server.base + path)
            repeated = http.get(server.base + REPEATED)
            self.checked(http, server.base + REPEATED)
            backend.constant = folder / "constant.json"
            backend.constant.write_bytes(repeated.content)
            if "feed" in self.only:
                token = self.token(http, server.base, backend.partner)
                feed = self.feed_pass(http, server.base + "/v1/feeds/changes", token)
                backend.feed_rows = feed[0]
                if not backend.feed_rows:
                    raise RuntimeError(f"{backend.name}: the change feed gave no items")
        backend.search_paths = folder / "search.txt"
        backend.search_paths.write_text("".join(p + "\n" for p in found))
        backend.aggregate_paths = folder / "aggregates.txt"
        backend.aggregate_paths.write_text("".join(p + "\n" for p in aggregates))
        log(
            f"{backend.name}: checked {len(kept)} list filters (recnet gives the ceiling's ids),"
            f" {len(found)} search words, {len(aggregates)} aggregates, repeated answer "
            f"{len(repeated.content)} bytes, feed {backend.feed_rows} items"
        )
        if backend.datasette_file is not None and "list" in self.only:
            queries = []
            for tenant in (None, *TENANTS):
                for sort in ("updated_at", "created_at"):
                    params = {
                        "_size": "50",
                        "kind": "practice",
                        "status__not": "draft",
                        "tlp": "CLEAR",
                        "_sort_desc": sort,
                        "_nocount": "1",
                    }
                    if tenant:
                        params["tenant"] = tenant
                    queries.append(f"/recnet/records.json?{urllib.parse.urlencode(params)}")
            with self.datasette(backend.datasette_file) as server, httpx.Client() as http:
                for path in queries:
                    answer = http.get(server.base + path + "&updated_at__gte=1980-01-01")
                    if answer.status_code != 200 or not answer.json().get("rows"):
                        raise RuntimeError(f"Datasette: {path} answered {answer.status_code}")
            backend.datasette_paths = folder / "datasette.txt"
            backend.datasette_paths.write_text("".join(p + "\n" for p in queries))

    @staticmethod
    def checked(http: httpx.Client, url: str, empty: bool = False) -> Any:
        """The answer's JSON, which must be a 200 with items (``empty``: False when none)."""
        answer = http.get(url)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {url} answered {answer.status_code}: {answer.text[:300]}")
        body = answer.json()
        if not body.get("items"):
            if empty:
                return False
            raise RuntimeError(f"GET {url} answered no items")
        return body

    @staticmethod
    def token(http: httpx.Client, base: str, client: dict[str, str]) -> str:
        answer = http.post(
            base + "/v1/auth/token",
            data={"grant_type": "client_credentials"},
            auth=(client["client_id"], client["client_secret"]),
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    @staticmethod
    def feed_pass(http: httpx.Client, url: str, token: str | None) -> tuple[int, float]:
        """Page through the whole change feed as a partner: (items, seconds)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        after, items = "0", 0
        started = time.perf_counter()
        while True:
            answer = http.get(
                url, params={"after": after, "limit": 500, "kinds": FEED_KINDS}, headers=headers
            )
            if answer.status_code != 200:
                raise RuntimeError(f"GET {url} answered {answer.status_code}: {answer.text[:300]}")
            page = answer.json()
            items += len(page["items"])
            after = page["next_cursor"]
            if not page["has_more"]:
                return items, time.perf_counter() - started

    # ---------------------------------------------------------------- one round

    def round(self, backend: Backend) -> None:
        name, only = backend.name, self.only
        if not (backend.list_paths and backend.search_paths and backend.aggregate_paths):
            raise RuntimeError(f"{name}: prepare() first")
        with self.recnet(backend.main) as server:
            if "list" in only:
                self.record(
                    name,
                    "recnet list c32",
                    self.wrk(server, 32, backend.list_paths, "updated_since"),
                )
                if self.profile is not None:
                    self.profiled(server, backend)
                self.record(
                    name, "recnet list c1", self.wrk(server, 1, backend.list_paths, "updated_since")
                )
            if "repeated" in only:
                self.record(name, "recnet repeated c32", self.wrk(server, 32, REPEATED))
            if "search" in only:
                self.record(
                    name,
                    "recnet search c32",
                    self.wrk(server, 32, backend.search_paths, "updated_since"),
                )
            if "aggregates" in only:
                self.record(
                    name, "recnet aggregates c1", self.wrk(server, 1, backend.aggregate_paths)
                )
            if "feed" in only:
                with httpx.Client(timeout=120) as http:
                    token = self.token(http, server.base, backend.partner)
                    rows, seconds = self.feed_pass(http, server.base + "/v1/feeds/changes", token)
                self.record(name, "recnet feed", {"rows": rows, "rows_per_s": rows / seconds})
        if "list" in only and self.against is not None:
            with self.recnet(backend.main, self.against) as server:
                for connections in (32, 1):
                    figures = self.wrk(server, connections, backend.list_paths, "updated_since")
                    self.record(name, f"against list c{connections}", figures)
        ceiling_list = self.workspace.root / name / "ceiling-list.txt"
        with self.references(backend.main, BENCH_CONSTANT=str(backend.constant)) as server:
            if "list" in only:
                self.record(
                    name, "ceiling list c32", self.wrk(server, 32, ceiling_list, "updated_since")
                )
                self.record(
                    name, "ceiling list c1", self.wrk(server, 1, ceiling_list, "updated_since")
                )
            if "repeated" in only:
                self.record(name, "constant c32", self.wrk(server, 32, "/constant"))
            if "feed" in only:
                with httpx.Client(timeout=120) as http:
                    rows, seconds = self.feed_pass(http, server.base + "/ceiling/feed", None)
                self.record(name, "ceiling feed", {"rows": rows, "rows_per_s": rows / seconds})
                if rows != backend.feed_rows:
                    self.notes.append(
                        f"{name}: the feed ceiling gave {rows} items, recnet {backend.feed_rows}"
                    )
        if "list" in only:
            with self.references(backend.main, "floor") as server:
                for floor in FLOORS:
                    paths = self.workspace.root / name / f"floor-{floor}-list.txt"
                    for connections in (32, 1):
                        figures = self.wrk(server, connections, paths, "updated_since")
                        self.record(name, f"floor-{floor} list c{connections}", figures)
        if (
            "list" in only
            and backend.datasette_file is not None
            and backend.datasette_paths is not None
        ):
            with self.datasette(backend.datasette_file) as server:
                for connections in (32, 1):
                    figures = self.wrk(
                        server,
                        connections,
                        backend.datasette_paths,
                        "updated_at__gte",
                        STAMP_DATASETTE,
                    )
                    self.record(name, f"datasette list c{connections}", figures)
        if "aggregates" in only:
            for label, query in (("sql group-by", aggregate_sql), ("sql cube lookup", cube_sql)):
                self.record(name, label, self.time_sql(backend, query))
        if "import" in only:
            self.import_round(backend)
        if "export" in only:
            self.export_round(backend)

    def profiled(self, server: Server, backend: Backend) -> None:
        """One more list run, not measured, with py-spy sampling the recnet server."""
        if self.profile is None or backend.list_paths is None:
            return
        self.profile.mkdir(parents=True, exist_ok=True)
        out = self.profile / f"{backend.name}-round{self.round_number}.txt"
        spy = Path(sys.executable).parent / "py-spy"
        if not spy.exists():
            raise SystemExit("--profile needs py-spy in the venv: .venv/bin/pip install py-spy")
        # --gil: only the thread holding the GIL is sampled, so the profile is of CPU, not of
        # threads waiting for the database or the network.
        command = [str(spy), "record", "--pid", str(server.pid), "--format", "raw", "--gil"]
        command += ["--rate", "250"]
        command += ["--output", str(out), "--duration", str(self.seconds + 2), "--nonblocking"]
        with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as spy_:
            time.sleep(0.5)
            self.wrk(server, 32, backend.list_paths, "updated_since")
            _, errors = spy_.communicate(timeout=self.seconds + 60)
        log(f"  profile written to {out}" if out.exists() else f"  py-spy: {errors.decode()}")

    def time_sql(
        self, backend: Backend, build: Callable[[str, str, int, int, str], str]
    ) -> dict[str, float]:
        """p50 latency of the aggregate SQL alone, cycling through the same combinations."""
        postgresql = backend.name == "postgresql"
        mark = "%s" if postgresql else "?"
        combos = [
            (by, ind, a, b)
            for by in AGGREGATE_BY
            for ind in AGGREGATE_INDICATORS
            for a, b in AGGREGATE_YEARS
        ]
        conn: Any = (
            psycopg.connect(backend.main, autocommit=True)
            if postgresql
            else sqlite3.connect(str(backend.sqlite_file))
        )
        timings: list[float] = []
        try:
            deadline = time.monotonic() + self.seconds
            index = 0
            while time.monotonic() < deadline or index < len(combos):
                by, indicator, first, last = combos[index % len(combos)]
                statement = build(by, indicator, first, last, mark)
                started = time.perf_counter()
                rows = conn.execute(statement).fetchall()
                timings.append(time.perf_counter() - started)
                if not rows:
                    raise RuntimeError(f"no rows from {statement}")
                index += 1
        finally:
            conn.close()
        timings.sort()
        return {
            "p50": 1000 * timings[len(timings) // 2],
            "p99": 1000 * timings[int(len(timings) * 0.99)],
            "queries": len(timings),
        }

    @contextlib.contextmanager
    def import_database(self, backend: Backend) -> Iterator[str]:
        """A fresh copy of the migrated, empty import template."""
        if backend.name == "sqlite":
            target = self.workspace.root / "sqlite" / "import.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(backend.template.removeprefix("sqlite:///"), target)
            yield f"sqlite:///{target}"
            return
        name = "recnet_suite_import"
        template = backend.template.rsplit("/", 1)[1]
        with psycopg.connect(f"{self.pg_url}/postgres", autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
        try:
            yield f"{self.pg_url}/{name}"
        finally:
            with psycopg.connect(f"{self.pg_url}/postgres", autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )

    def import_round(self, backend: Backend) -> None:
        body = stats_bench.import_csv(self.size.imported)
        with self.import_database(backend) as url:
            with self.recnet(url) as server, httpx.Client(timeout=600) as http:
                token = self.token(http, server.base, backend.agency)
                started = time.perf_counter()
                answer = http.post(
                    server.base + "/v1/statistics/observations",
                    content=body,
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
                )
                seconds = time.perf_counter() - started
                if (
                    answer.status_code != 200
                    or answer.json()["counts"]["imported"] != len(body.splitlines()) - 1
                ):
                    raise RuntimeError(f"import answered {answer.status_code}: {answer.text[:300]}")
            self.record(
                backend.name,
                "recnet import",
                {"rows_per_s": self.size.imported / seconds, "seconds": seconds},
            )
            with (
                self.references(url, BENCH_INGEST="1") as server,
                httpx.Client(timeout=600) as http,
            ):
                started = time.perf_counter()
                answer = http.post(
                    server.base + "/ingest", content=body, headers={"Content-Type": "text/csv"}
                )
                seconds = time.perf_counter() - started
                if answer.status_code != 200 or answer.json()["imported"] != self.size.imported:
                    raise RuntimeError(f"ingest answered {answer.status_code}: {answer.text[:300]}")
            label = "copy ingest" if backend.name == "postgresql" else "executemany ingest"
            self.record(
                backend.name,
                label,
                {"rows_per_s": self.size.imported / seconds, "seconds": seconds},
            )

    def export_round(self, backend: Backend) -> None:
        with self.recnet(backend.export) as server, httpx.Client(timeout=600) as http:
            http.get(server.base + "/v1/statistics/observations", params={"limit": 10})
            before = stats_bench.status_kib(server.pid, "VmRSS")
            stats_bench.reset_peak(server.pid)
            started = time.perf_counter()
            lines = 0
            with http.stream(
                "GET", server.base + "/v1/statistics/observations", params={"format": "csv"}
            ) as stream:
                if stream.status_code != 200:
                    raise RuntimeError(f"export answered {stream.status_code}")
                for chunk in stream.iter_bytes():
                    lines += chunk.count(b"\n")
            seconds = time.perf_counter() - started
            growth = (stats_bench.status_kib(server.pid, "VmHWM") - before) / 1024
        rows = lines - 1
        if rows < self.size.exported:
            raise RuntimeError(f"export gave {rows} rows, expected {self.size.exported}")
        self.record(
            backend.name,
            "recnet export",
            {
                "rows_per_s": rows / seconds,
                "seconds": seconds,
                "peak_growth_mib": growth,
                "rows": rows,
            },
        )
        false = "false" if backend.name == "postgresql" else "0"
        select = f"SELECT {EXPORT_COLUMNS} FROM statistics_cube WHERE derived = {false}"
        select += f" ORDER BY {KEY}"
        started = time.perf_counter()
        if backend.name == "postgresql":
            with (
                psycopg.connect(backend.export) as conn,
                conn.cursor() as cursor,
                open(os.devnull, "wb") as sink,
                cursor.copy(f"COPY ({select}) TO STDOUT (FORMAT csv, HEADER)") as copy,
            ):
                for data in copy:
                    sink.write(data)
            label = "copy export"
        else:
            assert backend.export.startswith("sqlite:///")
            with open(os.devnull, "wb") as sink:
                subprocess.run(
                    [
                        "sqlite3",
                        "-csv",
                        "-header",
                        backend.export.removeprefix("sqlite:///"),
                        select,
                    ],
                    stdout=sink,
                    check=True,
                )
            label = "sqlite3 export"
        seconds = time.perf_counter() - started
        self.record(backend.name, label, {"rows_per_s": rows / seconds, "seconds": seconds})


def aggregate_sql(by: str, indicator: str, first: int, last: int, mark: str) -> str:
    """What a user runs over the reported observations for the figures of
    ``/v1/statistics/aggregates?by=...`` (the kept dimension, plus its total, per year)."""
    kept = next(d for d in by.split(",") if d != "TIME_PERIOD").lower()
    total = "CAS" if kept == "ref_area" else "_T"
    where = f"indicator = '{indicator}' AND time_period >= '{first}' AND time_period < '{last + 1}'"
    return (
        f"SELECT {kept} AS code, substr(time_period, 1, 4) AS year, sum(obs_value) "
        f"FROM bench_observations WHERE {where} GROUP BY {kept}, substr(time_period, 1, 4) "
        f"UNION ALL SELECT '{total}', substr(time_period, 1, 4), sum(obs_value) "
        f"FROM bench_observations WHERE {where} GROUP BY substr(time_period, 1, 4) "
        "ORDER BY 1, 2"
    )


def cube_sql(by: str, indicator: str, first: int, last: int, mark: str) -> str:
    """recnet's own cube lookup for the same aggregate (captured with SQLAlchemy's echo)."""
    kept = {d.lower() for d in by.split(",")}
    totals = " ".join(
        f"AND {d} IN ('{'CAS' if d == 'ref_area' else '_T'}')"
        for d in ("ref_area", "sex", "age", "counterpart_area")
        if d not in kept
    )
    return (
        f"SELECT {KEY}, exact_value, published_value, conf_status, obs_status, unit_measure, "
        f"source, comment FROM statistics_cube WHERE indicator IN ('{indicator}') {totals} "
        f"AND time_period >= '{first}' AND time_period < '{last + 1}' AND frequency = 'A' "
        f"ORDER BY {KEY} LIMIT 10001"
    )


# ---------------------------------------------------------------- set-up


def datasette_ready() -> None:
    """Datasette in its own venv under bench/out/, so recnet's dependencies stay as they are."""
    if (DATASETTE_VENV / "bin" / "datasette").exists():
        return
    log("installing Datasette into bench/out/datasette-venv")
    subprocess.run([sys.executable, "-m", "venv", str(DATASETTE_VENV)], check=True)
    subprocess.run(
        [str(DATASETTE_VENV / "bin" / "pip"), "install", "--quiet", "datasette"], check=True
    )


def snapshot(root: Path) -> Workspace:
    """The code as it is now; someone may be editing it, so a failed import is retried."""
    for attempt in range(3):
        try:
            return Workspace.snapshot(root / f"try{attempt}")
        except (subprocess.CalledProcessError, RuntimeError, OSError) as exc:
            log(f"snapshot does not import ({exc}); retrying in 60 s")
            time.sleep(60)
    raise RuntimeError("the code does not import; no snapshot")


def revision_workspace(root: Path, rev: str) -> Workspace:
    """The code (src/, migrations/) of git revision ``rev``, for ``--against``."""
    workspace = Workspace(root)
    workspace.code.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src", "migrations"],
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(workspace.code)], input=archive.stdout, check=True)
    log(f"--against: {rev} in {workspace.code}")
    return workspace


def generate(suite: Suite, backends: list[Backend]) -> None:
    """Migrate every database, then write the data, both backends at once (2 processes)."""
    size = suite.size
    # Without a statistics scenario, a token of observations (one per tenant) is enough.
    statistics_wanted = bool({"aggregates", "import", "export"} & suite.only)
    observations = size.observations if statistics_wanted else len(TENANTS)
    for backend in backends:
        for url in (backend.main, backend.template, backend.export):
            migrate(suite.workspace, url)
    started = time.monotonic()
    running = []
    for backend in backends:
        command = [sys.executable, str(BENCH / "dataset.py"), backend.main]
        command += f"--practices {size.practices} --programmes {size.programmes}".split()
        command += f"--updates {size.updates} --observations {observations}".split()
        running.append(
            (
                backend,
                subprocess.Popen(
                    command,
                    env=suite.recnet_env(backend.main),
                    stdout=subprocess.PIPE,
                    cwd=suite.workspace.root,
                ),
            )
        )
    for backend in backends:
        out = subprocess.run(
            [sys.executable, str(BENCH / "dataset.py"), backend.template, "--clients-only"],
            env=suite.recnet_env(backend.template),
            capture_output=True,
            check=True,
            cwd=suite.workspace.root,
        )
        backend.agency = json.loads(out.stdout)["clients"]["agency"]
        if "export" in suite.only:
            stats_bench.seed_export(backend.export, size.exported)
    for backend, proc in running:
        stdout, _ = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"dataset generation for {backend.name} failed")
        backend.generation = json.loads(stdout)
        backend.partner = backend.generation["clients"]["partner"]
    log(
        f"data written in {time.monotonic() - started:.0f} s: "
        + "; ".join(
            f"{b.name} " + ", ".join(f"{k} {v}" for k, v in b.generation.items() if k != "clients")
            for b in backends
        )
    )
    for backend in backends:
        reference_table(backend)


def reference_table(backend: Backend) -> None:
    """A copy of the reported observations with an index for the aggregate GROUP BY (not one
    of recnet's tables); on SQLite, then a checkpointed copy of the file for Datasette."""
    create = [
        "CREATE TABLE bench_observations AS SELECT ref_area, indicator, sex, age, "
        "counterpart_area, time_period, obs_value FROM observations",
        "CREATE INDEX bench_observations_agg ON bench_observations "
        "(indicator, time_period, ref_area, sex, counterpart_area, obs_value)",
        "ANALYZE bench_observations",
    ]
    if backend.name == "postgresql":
        with psycopg.connect(backend.main, autocommit=True) as conn:
            for statement in create:
                conn.execute(statement)
            conn.execute("GRANT SELECT ON bench_observations TO recnet_app")
            conn.execute("VACUUM ANALYZE")
        return
    if backend.sqlite_file is None or backend.datasette_file is None:
        raise RuntimeError("an SQLite backend has its files")
    conn = sqlite3.connect(str(backend.sqlite_file), isolation_level=None)
    try:
        for statement in create:
            conn.execute(statement)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    shutil.copyfile(backend.sqlite_file, backend.datasette_file)
    template = Path(backend.template.removeprefix("sqlite:///"))
    conn = sqlite3.connect(str(template), isolation_level=None)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


# ---------------------------------------------------------------- report


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


@dataclass(frozen=True)
class Row:
    scenario: str
    mine: str  # measurement name of recnet's figure
    reference: str  # measurement name of the reference
    figure: str  # which figure: rps, p50, rows_per_s
    target: float | None  # None: information only
    higher_is_better: bool = True


def rows_for(backend: str) -> list[Row]:
    ingest = "copy ingest" if backend == "postgresql" else "executemany ingest"
    export = "copy export" if backend == "postgresql" else "sqlite3 export"
    rows = [
        Row(
            "anonymous list, 32 connections, req/s, vs recnet at --against",
            "recnet list c32",
            "against list c32",
            "rps",
            None,
        ),
        Row(
            "anonymous list, 32 connections, server CPU per request, vs recnet at --against",
            "recnet list c32",
            "against list c32",
            "cpu_ms",
            None,
            False,
        ),
        Row(
            "anonymous list, 32 connections, server CPU per request, vs ceiling",
            "recnet list c32",
            "ceiling list c32",
            "cpu_ms",
            1.5,
            False,
        ),
        Row(
            "anonymous list, 32 connections, req/s, vs ceiling",
            "recnet list c32",
            "ceiling list c32",
            "rps",
            0.7,
        ),
        Row(
            "anonymous list, 1 connection, req/s, vs ceiling",
            "recnet list c1",
            "ceiling list c1",
            "rps",
            None,
        ),
        Row(
            "anonymous list, 1 connection, p50 latency, vs ceiling",
            "recnet list c1",
            "ceiling list c1",
            "p50",
            None,
            False,
        ),
    ]
    # The floor of the fixed stack (bench/floor.py): what FastAPI, then SQLAlchemy, cost on the
    # ceiling's work, and what recnet adds to both.
    for mine, reference in (
        ("floor-fastapi", "ceiling"),
        ("floor-sqlalchemy", "ceiling"),
        ("recnet", "floor-sqlalchemy"),
    ):
        rows += [
            Row(
                f"anonymous list, 32 connections, server CPU per request, {mine} vs {reference}",
                f"{mine} list c32",
                f"{reference} list c32",
                "cpu_ms",
                None,
                False,
            ),
            Row(
                f"anonymous list, 32 connections, req/s, {mine} vs {reference}",
                f"{mine} list c32",
                f"{reference} list c32",
                "rps",
                None,
            ),
        ]
    if backend == "sqlite":
        rows += [
            Row(
                "anonymous list, 32 connections, req/s, vs Datasette",
                "recnet list c32",
                "datasette list c32",
                "rps",
                2.0,
            ),
            Row(
                "anonymous list, 1 connection, req/s, vs Datasette",
                "recnet list c1",
                "datasette list c1",
                "rps",
                None,
            ),
        ]
    rows += [
        Row(
            "same URL repeated, unchanged data, 32 connections, req/s, vs constant body",
            "recnet repeated c32",
            "constant c32",
            "rps",
            0.25,
        ),
        Row(
            "search q=word, 32 connections, req/s, vs the list",
            "recnet search c32",
            "recnet list c32",
            "rps",
            0.5,
        ),
        Row(
            "aggregate, 1 connection, p50 latency, vs GROUP BY SQL alone",
            "recnet aggregates c1",
            "sql group-by",
            "p50",
            1.5,
            False,
        ),
        Row(
            "aggregate, 1 connection, p50 latency, vs recnet's cube SQL alone",
            "recnet aggregates c1",
            "sql cube lookup",
            "p50",
            1.5,
            False,
        ),
        Row(
            "import of observations, rows/s, vs ingest limit",
            "recnet import",
            ingest,
            "rows_per_s",
            0.6 if backend == "postgresql" else None,
        ),
        Row("CSV export, rows/s, vs export limit", "recnet export", export, "rows_per_s", 0.5),
        Row(
            "change feed paged by a partner, rows/s, vs ceiling",
            "recnet feed",
            "ceiling feed",
            "rows_per_s",
            0.5,
        ),
    ]
    return rows


def fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"


def result_table(suite: Suite, backend: str) -> list[str]:
    results = suite.results.get(backend, {})
    lines = [
        "| scenario | recnet (median) | reference (median) | ratio (median of rounds) | target "
        "| met |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows_for(backend):
        mine, ref = results.get(row.mine, []), results.get(row.reference, [])
        if not mine or not ref:
            continue
        ratios = [
            m[row.figure] / r[row.figure] for m, r in zip(mine, ref, strict=False) if r[row.figure]
        ]
        ratio = median(ratios)
        unit = {"rps": " req/s", "p50": " ms", "cpu_ms": " ms", "rows_per_s": " rows/s"}[row.figure]
        if row.target is None:
            target, met = "(information)", "-"
        elif row.higher_is_better:
            target, met = f"≥ {row.target}×", "yes" if ratio >= row.target else "no"
        else:
            target, met = f"≤ {row.target}×", "yes" if ratio <= row.target else "no"
        measured = "" if row.mine.startswith("recnet") else f"{row.mine}: "
        lines.append(
            f"| {row.scenario} | {measured}{fmt(median([m[row.figure] for m in mine]))}{unit} "
            f"| {row.reference}: {fmt(median([r[row.figure] for r in ref]))}{unit} "
            f"| {ratio:.2f}× ({' / '.join(f'{x:.2f}' for x in ratios)}) | {target} | {met} |"
        )
    export = results.get("recnet export", [])
    if export:
        growth = median([m["peak_growth_mib"] for m in export])
        lines.append(
            f"| CSV export, server peak memory growth (VmHWM) | {growth:.1f} MiB | - | - "
            f"| ≤ 50 MiB | {'yes' if growth <= 50 else 'no'} |"
        )
    return lines


def raw_table(suite: Suite, backend: str) -> list[str]:
    lines = ["| measurement | per round |", "|---|---|"]
    for name, runs in suite.results.get(backend, {}).items():
        cells = []
        for m in runs:
            if "rps" in m:
                cells.append(
                    f"{m['rps']:.0f} req/s, p50 {m['p50']:.1f} / p99 {m['p99']:.1f} ms, "
                    f"cpu {m['cpu_ms']:.2f} ms/req, errors {m['errors']:.0f} of "
                    f"{m['requests']:.0f}"
                )
            elif "queries" in m:
                cells.append(f"p50 {m['p50']:.2f} / p99 {m['p99']:.2f} ms ({m['queries']:.0f} q)")
            else:
                extra = (
                    f", peak growth {m['peak_growth_mib']:.1f} MiB"
                    if "peak_growth_mib" in m
                    else ""
                )
                count = f"{m['rows']:.0f} rows, " if "rows" in m else ""
                cells.append(f"{count}{m['rows_per_s']:,.0f} rows/s{extra}")
        lines.append(f"| {name} | {' <br> '.join(cells)} |")
    return lines


def section(
    suite: Suite,
    backends: list[Backend],
    command: str,
    code: str,
    load: str,
    rounds: int,
    elapsed: float,
) -> str:
    size = suite.size
    errors = sum(
        m.get("errors", 0) for b in suite.results.values() for runs in b.values() for m in runs
    )
    lines = [
        SECTION,
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; run took {elapsed / 60:.1f} min",
        f"- machine: {machine()}; load average before the run {load} (shared, noisy machine)",
        f"- code: {code}, copied at the start of the run",
        f"- command: `{command}`",
        f"- data: {size.practices:,} practices, {size.programmes:,} programmes, "
        f"{size.updates:,} updates (record events: practices + programmes + updates), "
        f"{size.observations:,} observations (2015-2024, five tenants); import "
        f"{size.imported:,} observations; export {size.exported:,} published cube rows",
        f"- {rounds} interleaved rounds; wrk {WARMUP_SECONDS} s warm-up + {suite.seconds} s per "
        f"measurement; wrk non-2xx answers and socket errors over the whole run: {errors:.0f}",
        "",
        "Method (see the docstring of `bench/suite.py`): ratios of two figures measured in the "
        "same round, median over the rounds (each round's ratio in parentheses). List and search "
        "requests vary per request (filters from a list checked beforehand, plus an "
        "`updated_since` before any data that is unique to each request), so no answer can be "
        "reused; the aggregate paths cycle through "
        f"{len(AGGREGATE_BY) * len(AGGREGATE_INDICATORS) * len(AGGREGATE_YEARS)} combinations "
        "(by × indicator × period range). Server CPU per request is the server process's (and "
        "its children's) utime+stime over the measurement divided by its requests, without the "
        "database server's.",
        "",
        "Deviations and notes:",
        "- The ceiling reads as recnet's application role on PostgreSQL (row-level security "
        "applies to both alike); it answers only the anonymous case (no ETag, no rate limit, no "
        "Vary/Accept-Language handling).",
        "- The floor (`bench/floor.py`) answers the ceiling's bytes (checked on every kept "
        "filter) from a FastAPI sync route declaring recnet's list parameters and types; "
        "floor-fastapi reads through the ceiling's raw-driver code, floor-sqlalchemy through a "
        "SQLAlchemy `Session` per request (`execute(text(sql))`, rows as tuples) on an engine "
        "pooled as recnet's (as `recnet_app`, UTC, on PostgreSQL). No middleware, caller, rate "
        "limit, read cache or response model.",
        "- Datasette cannot filter on tags (EXISTS on `record_tags`): its paths vary tenant and "
        "sort, with `kind=practice&status__not=draft&tlp=CLEAR`, `_size=50`, `_nocount=1` and "
        "`updated_at__gte` unique per request; it serves a byte copy of the SQLite file "
        "(checkpointed), `-i`, `suggest_facets off`, `allow_facet off`, `sql_time_limit_ms "
        "10000` (so a slow query under load is an answer, not an error).",
        "- The feed is paged with `kinds=practice,programme&limit=500`; the ceiling selects "
        "only the events a partner sees (it does not look for removals, which this data has "
        "none of); rows/s counts the items delivered by one full pass.",
        "- The aggregate references run in this process (no HTTP); the GROUP BY reads a copy of "
        "the reported observations (`bench_observations`, with a covering index) and sums the "
        "kept dimension and its total per year, exact figures, no disclosure control "
        "(`bench_observations` is a table the suite adds to the main database; recnet's own "
        "tables are written only by recnet). The aggregate paths are not made unique per "
        "request (no aggregate parameter leaves the answer unchanged): over the rounds the same "
        "paths come back, so a cache in recnet may answer some of them.",
        "- The ingest limit writes into a plain table with no index (PostgreSQL `COPY ... FROM "
        "STDIN (FORMAT csv)`; SQLite: one `executemany`, for information). Each import runs on "
        "a fresh copy of a migrated, empty database. The body is `bench/statistics.py`'s "
        "`import_csv` (UZB, parts only, monthly).",
        "- The repeated-URL reference answers recnet's own answer to that URL, byte for byte "
        "(so the same size). The list ceiling re-serialises the stored document with orjson "
        "(UTF-8); its items are checked id for id against recnet's on a sample of filters.",
        "- The export limits: PostgreSQL `COPY (SELECT <the cube's columns> ... WHERE derived "
        "= false ORDER BY <key>) TO STDOUT (FORMAT csv)` read through psycopg; SQLite the same "
        "SELECT through `sqlite3 -csv` (a C program) to /dev/null. Peak memory is the recnet "
        "process's VmHWM (reset through /proc/PID/clear_refs) minus its RSS before the export.",
        *[f"- {note}" for note in suite.notes],
        "",
    ]
    for backend in backends:
        lines += [
            f"### {backend.name}",
            "",
            *result_table(suite, backend.name),
            "",
            "Raw figures per round:",
            "",
            *raw_table(suite, backend.name),
            "",
        ]
    return "\n".join(lines)


def write_section(text: str, path: Path = RESULTS) -> None:
    """Replace (or append) the suite's section of the results file, leaving the others."""
    write_results(text, path, heading=SECTION)


# ---------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="2 s per measurement, 2 rounds, a smaller dataset"
    )
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 3; quick 2)")
    parser.add_argument("--duration", type=int, help="seconds per measurement (default 5)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--no-write", action="store_true", help="print, do not write RESULTS.md")
    parser.add_argument("--pg-url", default=PG_SERVER, help="PostgreSQL server (no database)")
    parser.add_argument(
        "--only",
        default=",".join(SCENARIOS),
        help=f"comma-separated scenarios to run (default all: {','.join(SCENARIOS)})",
    )
    parser.add_argument(
        "--profile", type=Path, help="folder for py-spy profiles of recnet under the list load"
    )
    parser.add_argument(
        "--against",
        metavar="REV",
        help="also measure the list scenarios on recnet at this git revision, in every round",
    )
    args = parser.parse_args(argv)
    only = [name for name in args.only.split(",") if name]
    if unknown := set(only) - set(SCENARIOS):
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if shutil.which("wrk") is None or shutil.which("sqlite3") is None:
        parser.error("needs wrk and sqlite3 on PATH")
    rounds = args.rounds or (2 if args.quick else 3)
    seconds = args.duration or (2 if args.quick else 5)
    size = QUICK if args.quick else FULL
    names = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    code = revision()
    started = time.monotonic()
    if "sqlite" in names:
        datasette_ready()
    with (
        tempfile.TemporaryDirectory(prefix="recnet-suite-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        workspace = snapshot(Path(tmp))
        against = revision_workspace(Path(tmp) / "against", args.against) if args.against else None
        suite = Suite(workspace, size, seconds, args.pg_url, only, args.profile, against)
        backends = []
        for name in names:
            if name == "sqlite":
                folder = workspace.root / "sqlite"
                folder.mkdir()
                backends.append(
                    Backend(
                        name,
                        f"sqlite:///{folder / 'recnet.db'}",
                        f"sqlite:///{folder / 'export.db'}",
                        f"sqlite:///{folder / 'template.db'}",
                        sqlite_file=folder / "recnet.db",
                        datasette_file=folder / "datasette" / "recnet.db",
                    )
                )
                (folder / "datasette").mkdir()
            else:
                (workspace.root / "postgresql").mkdir()
                main_db, export_db, template_db = (
                    stack.enter_context(postgresql_database(args.pg_url, f"recnet_suite_{n}"))
                    for n in ("main", "export", "template")
                )
                backends.append(Backend(name, main_db, export_db, template_db))
        log(f"snapshot of {code}; generating data ({'quick' if args.quick else 'full'} size)")
        generate(suite, backends)
        for backend in backends:
            suite.prepare(backend)
        for number in range(1, rounds + 1):
            log(f"round {number} of {rounds}")
            suite.round_number = number
            for backend in backends:
                suite.round(backend)
        elapsed = time.monotonic() - started
        argv_shown = list(argv) if argv is not None else sys.argv[1:]
        command = shlex.join([".venv/bin/python", "bench/suite.py", *argv_shown])
        text = section(suite, backends, command, code, load, rounds, elapsed)
    print()
    print(text)
    if not args.no_write:
        write_section(text)
        print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.exit(main())
