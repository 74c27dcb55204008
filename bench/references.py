"""The reference servers of the performance suite (issue 8): what the stack can physically do.

One bare Starlette app, run by uvicorn (one worker, a separate process), configured by the
environment (``BENCH_DATABASE``: an SQLite file path or a PostgreSQL URL; ``BENCH_CONSTANT``: a
file whose bytes the constant endpoint answers):

- ``GET /ceiling/practices`` — the SQL recnet runs for ``GET /v1/practices?limit=N&<filters>`` as
  an anonymous caller (kind, ``status != 'draft' AND tlp IN ('CLEAR')``, tenant, updated_since,
  each tag filter an EXISTS on ``record_tags``, ``ORDER BY updated_at DESC, id DESC LIMIT N+1``)
  through the raw driver, the same item fields and ``next_cursor``, serialised by orjson (its
  SQL and its answer, ``practices_sql`` and ``practices_body``, are those of ``bench/floor.py``
  too);
- ``GET /constant`` — a constant body (the size of recnet's answer to the repeated request);
- ``GET /ceiling/feed`` — the change-feed rows a partner sees after a cursor (``seq > after``,
  the kinds asked for, ``status != 'draft' AND tlp IN ('CLEAR', 'GREEN')``), the same item
  fields as recnet's upserts, through the raw driver, orjson;
- ``POST /ingest`` — the statistics CSV body written with ``COPY ... FROM STDIN (FORMAT csv)``
  into a plain table of the same columns, no validation (SQLite: one executemany, information
  only);
- ``GET /v1/health`` — for the suite's start-up check.

On PostgreSQL the reads run as recnet's application role (``SET ROLE recnet_app`` on connect,
as recnet does), so row-level security applies to both alike. Routes are sync, on the thread
pool limited to ``BENCH_THREADS`` (default twice the cores, recnet's default), one connection
per thread: the fastest honest arrangement for a sync driver.

    BENCH_DATABASE=... python -m uvicorn references:app --app-dir bench --port P
"""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import anyio.to_thread
import orjson
import psycopg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DATABASE = os.environ.get("BENCH_DATABASE", "")
POSTGRESQL = DATABASE.startswith("postgresql")
APP_ROLE = "recnet_app"
TAGS = ("working_group", "approach", "target_group", "evidence_level", "activity_status", "lang")
RECORD_COLUMNS = "id, tenant, source_ref, version, status, tlp, created_at, updated_at, data"
INGEST_COLUMNS = (
    "ref_area", "indicator", "sex", "age", "counterpart_area", "time_period", "obs_value",
)  # fmt: skip
JSON = "application/json"
MAX_LIMIT = 100  # recnet's most items per page

_local = threading.local()


def connection() -> Any:
    """This thread's connection (the route threads each keep one)."""
    conn = getattr(_local, "conn", None)
    if conn is None:
        if POSTGRESQL:
            conn = psycopg.connect(DATABASE, autocommit=True)
            psycopg.types.json.set_json_loads(orjson.loads, conn)
        else:
            conn = sqlite3.connect(DATABASE, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
        _local.conn = conn
    return conn


def read_connection() -> Any:
    conn = getattr(_local, "read", None)
    if conn is None:
        if not POSTGRESQL:
            return connection()
        conn = psycopg.connect(DATABASE, autocommit=True)
        psycopg.types.json.set_json_loads(orjson.loads, conn)
        conn.execute(f'SET ROLE "{APP_ROLE}"')
        # Timestamps come back in UTC, as recnet gives them (the cursor carries one).
        conn.execute("SET TIME ZONE 'UTC'")
        _local.read = conn
    return conn


# ---------------------------------------------------------------- the list ceiling


def _sqlite_stamp(value: str) -> str:
    """'2026-01-02 03:04:05.678901' (SQLite text) → '2026-01-02T03:04:05.678901Z'."""
    return value.replace(" ", "T") + "Z"


def _uuid(hex32: str) -> str:
    h = hex32
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _language(title: dict[str, str]) -> str | None:
    for lang in ("en", "ru"):
        if lang in title:
            return lang
    return next(iter(title), None)


def _cursor(updated_at: Any, record_id: str) -> str:
    stamp = (
        updated_at.isoformat()
        if isinstance(updated_at, datetime)
        else updated_at.replace(" ", "T") + "+00:00"
    )
    raw = orjson.dumps({"v": stamp, "id": record_id})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def practices_sql(
    filters: Mapping[str, str], since: datetime | None, limit: int, named: bool = False
) -> tuple[str, Any]:
    """The list's SQL and its parameters: ``filters`` holds ``tenant`` and the tag filters (any
    other key is ignored), ``limit`` is the page size (the query asks for one more). Positional
    marks for the raw driver; ``named``: ``:p0, :p1, ...`` and a dict, for SQLAlchemy's text()."""
    args: list[Any] = []

    def mark(value: Any) -> str:
        args.append(value)
        if named:
            return f":p{len(args) - 1}"
        return "%s" if POSTGRESQL else "?"

    where = [f"kind = {mark('practice')}", f"status != {mark('draft')}"]
    where.append(f"tlp IN ({mark('CLEAR')})")
    if "tenant" in filters:
        where.append(f"tenant = {mark(filters['tenant'])}")
    if since is not None:
        stamp = since if POSTGRESQL else since.strftime("%Y-%m-%d %H:%M:%S.%f")
        where.append(f"updated_at >= {mark(stamp)}")
    for name in TAGS:
        if name in filters:
            tag = f"record_tags.name = {mark(name)} AND record_tags.value = {mark(filters[name])}"
            where.append(
                "EXISTS (SELECT 1 FROM record_tags WHERE record_tags.record_id = records.id "
                f"AND {tag})"
            )
    query = (
        f"SELECT {RECORD_COLUMNS} FROM records WHERE {' AND '.join(where)} "
        f"ORDER BY updated_at DESC, id DESC LIMIT {limit + 1}"
    )
    return query, ({f"p{i}": v for i, v in enumerate(args)} if named else args)


def practices_body(rows: Sequence[Sequence[Any]], limit: int) -> bytes:
    """The answer to the list (at most ``limit`` items of ``rows``, and the next cursor)."""
    items = []
    for rid, tenant, ref, version, status, tlp, created, updated, data in rows[:limit]:
        document = data if POSTGRESQL else orjson.loads(data)
        title = document.get("title", {})
        summary = document.get("summary")
        lang = _language(title)
        items.append(
            {
                "id": rid if POSTGRESQL else _uuid(rid),
                "tenant": tenant,
                "source_ref": ref,
                "version": version,
                "status": status,
                "tlp": tlp,
                "created_at": created if POSTGRESQL else _sqlite_stamp(created),
                "updated_at": updated if POSTGRESQL else _sqlite_stamp(updated),
                "languages": sorted(title),
                "lang": lang,
                "title": title.get(lang, "") if lang else "",
                "summary": summary.get(lang) if (summary and lang) else None,
                "document": document,
            }
        )
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = _cursor(rows[limit - 1][7], str(last["id"]))
    return orjson.dumps({"items": items, "next_cursor": next_cursor}, option=orjson.OPT_UTC_Z)


def practices(filters: Mapping[str, str], since: datetime | None, limit: int) -> bytes:
    """The list through the raw driver (this thread's connection)."""
    limit = max(1, min(limit, MAX_LIMIT))
    query, args = practices_sql(filters, since, limit)
    return practices_body(read_connection().execute(query, args).fetchall(), limit)


def list_practices(request: Request) -> Response:
    params = request.query_params
    since = params.get("updated_since")
    body = practices(
        params,
        datetime.fromisoformat(since) if since is not None else None,
        int(params.get("limit", "20")),
    )
    return Response(body, media_type=JSON)


# ---------------------------------------------------------------- the feed ceiling


def feed(request: Request) -> Response:
    params = request.query_params
    after = int(params.get("after", "0"))
    limit = max(1, min(int(params.get("limit", "100")), 500))
    kinds = [k for k in params.get("kinds", "practice,programme").split(",") if k]
    mark = "%s" if POSTGRESQL else "?"
    query = (
        "SELECT seq, kind, action, record_id, version, occurred_at, payload FROM events "
        f"WHERE seq > {mark} AND kind IN ({', '.join(mark for _ in kinds)}) "
        f"AND status != {mark} AND tlp IN ({mark}, {mark}) ORDER BY seq LIMIT {limit + 1}"
    )
    rows = read_connection().execute(query, [after, *kinds, "draft", "CLEAR", "GREEN"]).fetchall()
    items = [
        {
            "seq": seq,
            "type": "upsert",
            "kind": kind,
            "action": action,
            "record_id": str(record_id) if POSTGRESQL else _uuid(record_id),
            "version": version,
            "occurred_at": occurred if POSTGRESQL else _sqlite_stamp(occurred),
            "record": payload if POSTGRESQL else orjson.loads(payload),
        }
        for seq, kind, action, record_id, version, occurred, payload in rows[:limit]
    ]
    body = {
        "items": items,
        "next_cursor": str(items[-1]["seq"] if items else after),
        "has_more": len(rows) > limit,
    }
    return Response(orjson.dumps(body, option=orjson.OPT_UTC_Z), media_type=JSON)


# ---------------------------------------------------------------- constant body and ingest

_CONSTANT = b""


def constant(request: Request) -> Response:
    return Response(_CONSTANT, media_type=JSON)


async def ingest(request: Request) -> Response:
    body = await request.body()
    imported = await anyio.to_thread.run_sync(_ingest, body)
    return JSONResponse({"imported": imported})


def _ingest(body: bytes) -> int:
    names = ", ".join(INGEST_COLUMNS)
    conn = connection()
    if POSTGRESQL:
        with conn.transaction(), conn.cursor() as cursor:
            with cursor.copy(f"COPY bench_ingest ({names}) FROM STDIN (FORMAT csv, HEADER)") as cp:
                cp.write(body)
            return int(cursor.rowcount)
    reader = csv.reader(io.StringIO(body.decode()))
    next(reader)
    marks = ", ".join("?" for _ in INGEST_COLUMNS)
    conn.execute("BEGIN")
    cursor = conn.executemany(f"INSERT INTO bench_ingest ({names}) VALUES ({marks})", reader)
    conn.execute("COMMIT")
    return int(cursor.rowcount)


def threads() -> int:
    """The route threads: ``BENCH_THREADS``, default twice the cores (recnet's default)."""
    return int(os.environ.get("BENCH_THREADS", str(2 * (os.cpu_count() or 1))))


def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global _CONSTANT
    anyio.to_thread.current_default_thread_limiter().total_tokens = threads()
    if os.environ.get("BENCH_CONSTANT"):
        with open(os.environ["BENCH_CONSTANT"], "rb") as constant_file:
            _CONSTANT = constant_file.read()
    if os.environ.get("BENCH_INGEST"):
        columns = ", ".join(
            f"{c} {'integer' if c == 'obs_value' else 'text'}" for c in INGEST_COLUMNS
        )
        conn = connection()
        conn.execute(f"CREATE TABLE IF NOT EXISTS bench_ingest ({columns})")
        conn.execute("DELETE FROM bench_ingest")
    yield


app = Starlette(
    routes=[
        Route("/ceiling/practices", list_practices),
        Route("/ceiling/feed", feed),
        Route("/constant", constant),
        Route("/ingest", ingest, methods=["POST"]),
        Route("/v1/health", health),
    ],
    lifespan=lifespan,
)
