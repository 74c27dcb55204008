"""``GET /metrics``: the service's figures in the Prometheus text format, for an operator.

Requests are counted by route template (``/v1/practices/{record_id}``), never by raw path, so ids
do not multiply the series. The database figures (pool use, the event log's head, webhook
delivery) are read when scraped: webhooks are delivered by another process (``recnet worker``)
whose state is in the database, not in this process's memory.

Several server processes (``recnet serve --workers N``) each count their own requests. With
``PROMETHEUS_MULTIPROC_DIR`` set to an empty directory shared by them (prometheus-client's
multiprocess mode), a scrape of any one answers the sum over all; without it, each scrape sees
the one process that answered it.

Not served unless ``RECNET_METRICS`` says so (see ``config.Settings.metrics``).
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import time
from collections.abc import Iterable

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recnet.api.asgi import CLIENT_GONE
from recnet.config import Settings
from recnet.db import Database
from recnet.errors import Unauthorized
from recnet.repositories.monitoring import DatabaseFigures, database_figures

log = logging.getLogger("recnet.metrics")

METRICS_PATH = "/metrics"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds: from a cached read (well under a millisecond) to a long import or a long poll.
_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# Bytes of an import's body: from a handful of rows to the largest upload allowed by default.
_SIZE_BUCKETS = (1e3, 1e4, 1e5, 1e6, 4e6, 16e6, 64e6, 256e6)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    """The figures one app keeps, in a registry of its own (one app per server process)."""

    def __init__(self, database: Database, import_path: str) -> None:
        self.database = database
        self.import_path = import_path
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "recnet_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "recnet_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by method and route.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.import_bytes = Histogram(
            "recnet_import_bytes",
            "Size of the bodies of statistics imports, by outcome (status class).",
            ["outcome"],
            buckets=_SIZE_BUCKETS,
            registry=self.registry,
        )
        self.import_duration = Histogram(
            "recnet_import_duration_seconds",
            "Duration of statistics imports, by outcome (status class).",
            ["outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        # Summed over the live server processes in multiprocess mode.
        self.pool_size = Gauge(
            "recnet_db_pool_size",
            "Database connections the pool keeps open (not counting overflow).",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.pool_in_use = Gauge(
            "recnet_db_pool_connections_in_use",
            "Database connections checked out of the pool.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.pool_overflow = Gauge(
            "recnet_db_pool_overflow",
            "Connections opened beyond the pool's size (negative: the pool is not yet full).",
            registry=self.registry,
            multiprocess_mode="livesum",
        )

    def sample_pool(self) -> None:
        pool = self.database.engine.pool
        for gauge, reading in (
            (self.pool_size, "size"),
            (self.pool_in_use, "checkedout"),
            (self.pool_overflow, "overflow"),
        ):
            value = getattr(pool, reading, None)
            if callable(value):
                gauge.set(value())

    def exposition(self, figures: DatabaseFigures | None) -> bytes:
        """The text a scrape answers: this process's (or all processes') figures, then the
        database's as read just now (``None``: the database could not be read)."""
        self.sample_pool()
        if multiprocess_dir():
            combined = CollectorRegistry()
            MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
            counted = generate_latest(combined)
        else:
            counted = generate_latest(self.registry)
        read = CollectorRegistry()
        read.register(_DatabaseCollector(figures))
        return counted + generate_latest(read)


class _DatabaseCollector(Collector):
    def __init__(self, figures: DatabaseFigures | None) -> None:
        self.figures = figures

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            "recnet_database_up", "Whether this scrape could read the database (1) or not (0)."
        )
        up.add_metric([], 0 if self.figures is None else 1)
        yield up
        if self.figures is None:
            return
        head = GaugeMetricFamily(
            "recnet_event_log_head",
            "Sequence number of the newest event in the log: it moves on every accepted change.",
        )
        head.add_metric([], self.figures.event_head)
        yield head
        subscriptions = GaugeMetricFamily(
            "recnet_webhook_subscriptions", "Webhook subscriptions by status.", labels=["status"]
        )
        for status, count in sorted(self.figures.subscriptions.items()):
            subscriptions.add_metric([status], count)
        yield subscriptions
        deliveries = CounterMetricFamily(
            "recnet_webhook_deliveries",
            "Webhook delivery attempts recorded by every worker, by outcome (delivered: a 2xx "
            "answer; failed: any other answer, or none).",
            labels=["outcome"],
        )
        for outcome, count in sorted(self.figures.deliveries.items()):
            deliveries.add_metric([outcome], count)
        yield deliveries


class RouteTemplates:
    """The full template (``/v1/practices/{record_id}``) of the route that answered a request,
    never its raw path (ids would multiply the series); ``unmatched`` when no route matches.

    Routes of an included router carry their path without the router's prefix: the templates
    are taken from the app's route contexts, once every route has been added."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._by_route: dict[int, str] | None = None
        self._patterns: list[tuple[re.Pattern[str], str]] = []

    def _build(self) -> dict[int, str]:
        by_route: dict[int, str] = {}
        for context in iter_route_contexts(self.app.routes):
            template, pattern = context.path, context.path_format
            if template is None or pattern is None:
                continue
            by_route.setdefault(id(context.original_route), template)
            self._patterns.append((compile_path(pattern)[0], template))
        return by_route

    def __call__(self, scope: Scope) -> str:
        if self._by_route is None:
            self._by_route = self._build()
        route = scope.get("route")
        if route is not None and id(route) in self._by_route:
            return self._by_route[id(route)]
        # A layer that answered before routing (an idempotent replay), or a route set aside.
        path = scope["path"]
        for pattern, template in self._patterns:
            if pattern.match(path):
                return template
        return "unmatched"


class MetricsMiddleware:
    """Counts and times every HTTP request; the outermost layer, so it sees every answer."""

    def __init__(self, app: ASGIApp, metrics: Metrics, templates: RouteTemplates) -> None:
        self.app = app
        self.metrics = metrics
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None
        received = 0
        is_import = scope["path"] == self.metrics.import_path and scope["method"] == "POST"

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            return message

        async def seeing_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, counting_receive if is_import else receive, seeing_send)
        finally:
            elapsed = time.perf_counter() - started
            if status is None:
                status = 499 if scope.get(CLIENT_GONE) else 500
            method = scope["method"] if scope["method"] in _METHODS else "other"
            route = self.templates(scope)
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            if is_import:
                outcome = f"{status // 100}xx"
                self.metrics.import_bytes.labels(outcome).observe(received)
                self.metrics.import_duration.labels(outcome).observe(elapsed)
            self.metrics.sample_pool()


def install_metrics(app: FastAPI, settings: Settings, database: Database, import_path: str) -> None:
    """Serve ``/metrics`` and count requests, when ``settings.metrics`` asks for it."""
    if settings.metrics == "off":
        return
    metrics = Metrics(database, import_path)
    app.state.metrics = metrics
    expected = f"Bearer {settings.metrics_token}".encode() if settings.metrics == "token" else None

    async def get_metrics(request: Request) -> Response:
        if expected is not None:
            given = request.headers.get("authorization", "").encode("latin-1")
            if not hmac.compare_digest(given, expected):
                raise Unauthorized(
                    "The metrics are served to the configured scraper only: send "
                    "RECNET_METRICS_TOKEN as a bearer token.",
                    headers={"WWW-Authenticate": 'Bearer realm="recnet metrics"'},
                )
        try:
            figures: DatabaseFigures | None = await database.run(database_figures, write=False)
        except Exception:
            log.warning("metrics: the database could not be read", exc_info=True)
            figures = None
        return Response(metrics.exposition(figures), media_type=CONTENT_TYPE)

    app.add_route(METRICS_PATH, get_metrics, methods=["GET"], include_in_schema=False)
    app.add_middleware(MetricsMiddleware, metrics=metrics, templates=RouteTemplates(app))


def process_stopped() -> None:
    """In multiprocess mode, drop this process's live gauges (pool use) from the sums."""
    if multiprocess_dir():
        mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
