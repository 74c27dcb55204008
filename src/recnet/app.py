"""The recnet application: ``create_app()`` assembles routers, middleware, handlers and lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from recnet import __version__
from recnet.api.conventions import HttpConventionsMiddleware
from recnet.api.direct import DirectReadsMiddleware
from recnet.api.idempotency import IdempotencyMiddleware
from recnet.api.metrics import install_metrics, process_stopped
from recnet.api.middleware import BodyLimitMiddleware, RequestContextMiddleware
from recnet.api.openapi_security import describe_security
from recnet.api.readcache import ReadCache
from recnet.api.shared_answers import shared_answers
from recnet.api.v1.router import direct_list_endpoints
from recnet.api.v1.router import router as v1_router
from recnet.api.v1.statistics_imports import IMPORT_PATH
from recnet.api.v1.well_known import install_well_known
from recnet.auth.keys import KeyRing
from recnet.auth.ratelimit import RateLimiter
from recnet.config import Settings, get_settings
from recnet.db import Database
from recnet.errors import PROBLEM_MEDIA_TYPE, Problem, install_handlers
from recnet.logs import configure_logging
from recnet.web.docs import install_docs
from recnet.web.explorer import install_explorer
from recnet.web.record_pages import install_record_pages
from recnet.web.upload import install_upload_desk

OPENAPI_URL = "/v1/openapi.json"

DESCRIPTION = """\
The data-exchange service of the Central Asia Regional Expert Council on the rehabilitation and
reintegration of people returned from armed-conflict zones: good practices, programme descriptions
and aggregate repatriation statistics, shared between the member states, the secretariat, partners
and researchers under Traffic Light Protocol markings.

Every error is `application/problem+json` (RFC 9457) carrying a `request_id`.
"""


def operation_id(route: APIRoute) -> str:
    """OperationIds are the route functions' names: stable and readable (`list_organisations`)."""
    return route.name


def api_routes(app: FastAPI) -> list[RouteContext]:
    """Every API operation of the app as mounted (paths with their router prefixes)."""
    return [r for r in iter_route_contexts(app.routes) if isinstance(r.original_route, APIRoute)]


def _problem_openapi(app: FastAPI) -> dict[str, Any]:
    """The generated document, with every error response described as problem+json and each
    operation's security as the policy table has it (``api.openapi_security``)."""
    schema = FastAPI.openapi(app)
    describe_security(schema)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    problem_content = {PROBLEM_MEDIA_TYPE: {"schema": problem_ref}}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if status[0] in "45":
                    response["content"] = problem_content
            responses["default"] = {"description": "Problem details", "content": problem_content}
    if "Problem" not in components:
        definitions = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(definitions.pop("$defs", {}))
        components["Problem"] = definitions
    return schema


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    # Sync routes run on this pool; its size is measured, not FastAPI's default 40 threads.
    anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
    yield
    app.state.database.dispose()
    process_stopped()


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="recnet",
        version=__version__,
        description=DESCRIPTION,
        openapi_url=OPENAPI_URL,
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database or Database.from_settings(settings)
    app.state.keyring = KeyRing(settings)
    app.state.limiter = RateLimiter.from_url(settings.redis_url)
    app.state.read_cache = ReadCache(
        app.state.database, settings.read_cache_mb * 1024 * 1024, shared_answers(app.state.database)
    )

    app.include_router(v1_router)
    install_well_known(app)
    install_docs(app)
    install_explorer(app)
    install_record_pages(app)
    install_upload_desk(app)
    install_handlers(app, retry_after=settings.retry_after_seconds)

    # Innermost first: the record lists' direct path, under every other layer (api/direct.py).
    if settings.direct_reads:
        app.add_middleware(DirectReadsMiddleware, endpoints=direct_list_endpoints())
    # Idempotency sees bodies the limits have already bounded.
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(
        BodyLimitMiddleware,
        limit_for=lambda path: (
            settings.max_import_bytes if path == IMPORT_PATH else settings.max_body_bytes
        ),
        streamed=lambda path: path == IMPORT_PATH,
    )
    # HEAD, CORS, unknown parameters, Accept, the OpenAPI document's validators (one place).
    app.add_middleware(
        HttpConventionsMiddleware,
        router=app.router,
        cors_origins=settings.cors_origins,
        openapi_url=OPENAPI_URL,
    )
    # Added last but one, so it wraps everything but the metrics (which count its answers).
    app.add_middleware(RequestContextMiddleware)
    install_metrics(app, settings, app.state.database, IMPORT_PATH)

    cached: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if "schema" not in cached:
            cached["schema"] = _problem_openapi(app)
        schema: dict[str, Any] = cached["schema"]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def create_served_app() -> FastAPI:
    """The app as ``recnet serve`` runs it in each worker process: JSON logs, settings from env."""
    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)
