"""The floor of recnet's fixed stack for the anonymous list: FastAPI and SQLAlchemy with no recnet.

The list ceiling (``bench/references.py``) is bare Starlette and the raw driver; recnet is bound to
FastAPI + pydantic + SQLAlchemy. This app does the ceiling's work (the same SQL, the same items,
the same answer bytes; ``practices_sql`` and ``practices_body`` are the ceiling's own) behind the
layers the stack imposes and nothing else, so the suite can tell what the stack costs from what
recnet adds to it:

- ``GET /floor/fastapi/practices`` — a plain ``def`` FastAPI route (run on the thread pool, as the
  ceiling's route is) declaring recnet's list parameters with their types and constraints
  (tenant pattern, recnet's vocabulary enums, ``updated_since`` a datetime, ``limit`` 1..10000,
  ...), then the ceiling's raw-driver read and orjson answer, returned as a ``Response``;
- ``GET /floor/sqlalchemy/practices`` — the same route, the SQL through SQLAlchemy: an Engine
  pooled as recnet's is (pool of the thread count, same overflow and timeout; on PostgreSQL
  ``SET ROLE recnet_app`` and ``SET TIME ZONE 'UTC'`` on connect, jsonb loaded by orjson; on
  SQLite WAL, as the ceiling), a ``Session`` per request, ``session.execute(text(sql),
  params)``, the rows as tuples;
- ``GET /v1/health`` — for the suite's start-up check.

No middleware, no caller resolution, rate limit, read cache or response model: the only recnet
code is the enums (and ``Sort``) the parameters are declared with. ``status``, ``tlp``, ``q``,
``sort`` and ``cursor`` are declared and validated, not acted on (the suite sends none of them).
Configured and run as the references are (``BENCH_DATABASE``, ``BENCH_THREADS``):

    BENCH_DATABASE=... python -m uvicorn floor:app --app-dir bench --port P --no-access-log
"""

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, Any

import anyio.to_thread
import orjson
from fastapi import FastAPI, Query, Response
from references import (
    APP_ROLE,
    DATABASE,
    JSON,
    MAX_LIMIT,
    POSTGRESQL,
    practices,
    practices_body,
    practices_sql,
    threads,
)
from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import Session

from recnet.schemas.vocabularies import (
    ActivityStatus,
    Approach,
    EvidenceLevel,
    Language,
    RecordStatus,
    TargetGroup,
    TlpMarking,
    WorkingGroup,
)
from recnet.services.record_reads import Sort

POOL = threads()  # recnet's pool: one connection per route thread
DB_TIMEOUT = 5.0  # recnet's default db_timeout (pool wait, SQLite busy timeout)

if POSTGRESQL:
    engine = create_engine(
        DATABASE.replace("postgresql://", "postgresql+psycopg://", 1),
        pool_size=POOL,
        max_overflow=max(1, POOL // 2),
        pool_timeout=DB_TIMEOUT,
        json_deserializer=orjson.loads,
    )

    @event.listens_for(engine, "connect")
    def _as_app_role(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f'SET ROLE "{APP_ROLE}"')
            cursor.execute("SET TIME ZONE 'UTC'")  # as the ceiling: its cursor carries a stamp
        dbapi_connection.commit()

else:
    engine = create_engine(
        f"sqlite:///{DATABASE}",
        connect_args={"check_same_thread": False, "timeout": DB_TIMEOUT},
        pool_size=POOL,
        max_overflow=0,
        pool_timeout=DB_TIMEOUT,
    )

    @event.listens_for(engine, "connect")
    def _wal(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA journal_mode=WAL")


def through_sqlalchemy(filters: dict[str, str], since: datetime | None, limit: int) -> bytes:
    """The ceiling's list, its SQL run by a Session of the pooled engine."""
    limit = max(1, min(limit, MAX_LIMIT))
    query, params = practices_sql(filters, since, limit, named=True)
    with Session(engine) as session:
        rows = session.execute(text(query), params).tuples().all()
    return practices_body(rows, limit)


Read = Callable[[dict[str, str], datetime | None, int], bytes]


def list_route(read: Read) -> Callable[..., Response]:
    """A route with recnet's list parameters (``_list_route`` in ``api/v1/records.py``)."""

    def listing(
        tenant: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
        working_group: WorkingGroup | None = None,
        approach: Approach | None = None,
        component: Approach | None = None,
        target_group: TargetGroup | None = None,
        evidence_level: EvidenceLevel | None = None,
        activity_status: ActivityStatus | None = None,
        status: RecordStatus | None = None,
        tlp: TlpMarking | None = None,
        lang: Language | None = None,
        updated_since: datetime | None = None,
        q: Annotated[str | None, Query(max_length=200)] = None,
        sort: Sort | None = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 20,
        cursor: Annotated[str | None, Query(max_length=500)] = None,
    ) -> Response:
        filters = {
            name: str(value)
            for name, value in (
                ("tenant", tenant),
                ("working_group", working_group),
                ("approach", approach or component),
                ("target_group", target_group),
                ("evidence_level", evidence_level),
                ("activity_status", activity_status),
                ("lang", lang),
            )
            if value is not None
        }
        return Response(read(filters, updated_since, limit), media_type=JSON)

    return listing


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    anyio.to_thread.current_default_thread_limiter().total_tokens = POOL
    yield
    engine.dispose()


app = FastAPI(lifespan=lifespan)
app.add_api_route("/floor/fastapi/practices", list_route(practices), methods=["GET"])
app.add_api_route("/floor/sqlalchemy/practices", list_route(through_sqlalchemy), methods=["GET"])


@app.get("/v1/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
