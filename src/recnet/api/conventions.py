"""The HTTP conventions every route follows, applied in one pure ASGI layer rather than route by
route:

- a query string that is not UTF-8 is refused (400), whatever the path;
- ``HEAD`` is answered wherever ``GET`` is, with the same status and headers and no body;
- a query parameter a route does not take is refused (422, naming it and the nearest one the
  route takes) on the API's routes, whose parameters are all known and fixed; the SDMX REST
  routes are the exception, as SDMX clients add parameters of the specification's own;
- an ``Accept`` header naming nothing the route can answer in is refused (406) before the route
  runs, rather than answered in JSON;
- anonymous ``GET``/``HEAD`` answers may be read by the web origins of ``RECNET_CORS_ORIGINS``
  (CORS, preflight included); never with credentials: a request carrying ``Authorization`` gets
  no CORS header, so a page elsewhere cannot use a token a browser holds;
- the OpenAPI document carries an ETag, Last-Modified and Cache-Control, and a conditional GET
  of it is answered 304.

The route table is read from the app's router the first time a request arrives (every router is
included by then).
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.datastructures import MutableHeaders, QueryParams
from starlette.routing import BaseRoute, Router, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recnet.api.asgi import header
from recnet.api.http import (
    PUBLIC_REFERENCE,
    NotAcceptable,
    fresh,
    http_date,
)
from recnet.clock import utcnow
from recnet.errors import FieldError, ProblemError, ValidationProblem, problem_response

MAX_ACCEPT = 2000
MAX_RANGES = 30
# The API's own routes; the SDMX REST routes take parameters as the SDMX specification lets
# clients send them, so unknown ones are ignored there.
STRICT_PREFIX = "/v1/"
LENIENT_PREFIXES = ("/v1/sdmx/",)
# What a cross-origin page may send and read (a preflight asking for more is refused).
CORS_METHODS = "GET, HEAD"
# What other origins may read: the API and its published metadata; never the pages, the upload
# desk or /metrics, which are for people and operators on this origin.
CORS_PREFIXES = ("/v1/", "/.well-known/")
CORS_REQUEST_HEADERS = frozenset(
    {"accept", "accept-language", "if-none-match", "if-modified-since", "x-request-id"}
)
CORS_EXPOSED = (
    "ETag, Last-Modified, Link, Content-Disposition, X-Request-Id, Retry-After, "
    "RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"
)
CORS_MAX_AGE = "600"


class CorsRefused(ProblemError):
    status, slug, title = 403, "cors-refused", "Cross-origin request refused"


@dataclass(frozen=True)
class RouteRules:
    """What the conventions need to know of one API route."""

    path: str
    pattern: re.Pattern[str]
    methods: frozenset[str]
    strict: bool
    parameters: frozenset[str]
    produces: frozenset[str]

    def answers(self, method: str, path: str) -> bool:
        return method in self.methods and self.pattern.match(path) is not None


def _query_names(dependant: Dependant) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _produces(route: APIRoute) -> frozenset[str]:
    """The media types a route answers in (without parameters): its response class's, JSON for
    a response model, and those its 200 response declares."""
    media: set[str] = set()
    response_class = route.response_class
    if isinstance(response_class, DefaultPlaceholder):
        response_class = response_class.value
    if getattr(response_class, "media_type", None):
        media.add(str(response_class.media_type))
    if route.response_model is not None:
        media.add("application/json")
    for status in (200, "200"):
        media.update(route.responses.get(status, {}).get("content", {}))
    return frozenset(m.split(";")[0].strip().lower() for m in media)


def route_rules(routes: Sequence[BaseRoute]) -> list[RouteRules]:
    """The rules of every API route (under /v1/) of an app's routes, as mounted."""
    rules = []
    for context in iter_route_contexts(routes):
        route = context.original_route
        path = context.path
        if not isinstance(route, APIRoute) or not path or not path.startswith(STRICT_PREFIX):
            continue
        dependant = getattr(context, "dependant", route.dependant)
        rules.append(
            RouteRules(
                path=path,
                pattern=compile_path(path)[0],
                methods=frozenset(context.methods or route.methods or ()),
                strict=not path.startswith(LENIENT_PREFIXES),
                parameters=frozenset(_query_names(dependant)),
                produces=_produces(route),
            )
        )
    return rules


def _static_rules(rules: Sequence[RouteRules]) -> dict[tuple[str, str], RouteRules]:
    """The rules of the routes without path parameters, by (method, path): a dictionary lookup
    instead of a pass over every pattern. Only where the pass would give the same rule (no
    earlier pattern takes that path too)."""
    static: dict[tuple[str, str], RouteRules] = {}
    for rule in rules:
        if "{" in rule.path:
            continue
        for method in rule.methods:
            first = next(r for r in rules if r.answers(method, rule.path))
            static.setdefault((method, rule.path), first)
    return static


def _accepted_ranges(accept: str) -> list[str]:
    """The media ranges of an Accept header with a quality above zero; malformed ranges are
    skipped (a header with none that parses is ignored, as RFC 9110 allows)."""
    ranges = []
    for part in accept[:MAX_ACCEPT].split(",")[:MAX_RANGES]:
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if "/" not in media:
            continue
        quality = 1.0
        for piece in pieces[1:]:
            name, _, value = piece.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranges.append(media)
    return ranges


def _range_matches(media_range: str, media: str) -> bool:
    if media_range in ("*/*", media):
        return True
    kind, _, subtype = media_range.partition("/")
    if subtype == "*":
        return media.startswith(kind + "/")
    # application/json and application/xml stand for their structured suffixes too
    # (application/feed+json, application/atom+xml).
    if media_range in ("application/json", "application/xml", "text/xml"):
        return media.endswith("+" + subtype)
    return False


def acceptable(accept: str | None, produces: Iterable[str]) -> bool:
    """Whether an Accept header admits one of the media types a route produces."""
    if not accept or not accept.strip():
        return True
    ranges = _accepted_ranges(accept)
    if not ranges:
        return True
    return any(_range_matches(r, m) for r in ranges for m in produces)


def unknown_parameters(rules: RouteRules, query_string: bytes) -> ValidationProblem | None:
    """The refusal of query parameters the route does not take, or None."""
    names = QueryParams(query_string.decode("latin-1")).keys()
    unknown = sorted({n for n in names if n not in rules.parameters})
    if not unknown:
        return None
    taken = sorted(rules.parameters)
    errors = []
    for name in unknown[:20]:
        near = difflib.get_close_matches(name, taken, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        errors.append(
            FieldError(
                location="query",
                field=name[:100],
                pointer="/" + name[:100].replace("~", "~0").replace("/", "~1"),
                code="unknown_parameter",
                message=f"this route takes no parameter {name[:100]!r}{hint}",
            )
        )
    takes = f"it takes {', '.join(taken)}" if taken else "it takes none"
    named = ", ".join(repr(n[:100]) for n in unknown[:20])
    return ValidationProblem(
        f"Unknown query parameter {named} for {rules.path}: {takes}.", errors=errors
    )


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class HttpConventionsMiddleware:
    """Applies the conventions of the module to every request (see the module's docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        router: Router,
        cors_origins: Sequence[str] = (),
        openapi_url: str | None = None,
    ) -> None:
        self.app = app
        self.router = router
        self.any_origin = "*" in cors_origins
        self.origins = frozenset(o for o in cors_origins if o != "*")
        self.openapi_url = openapi_url
        self.built = http_date(utcnow())
        self._rules: list[RouteRules] | None = None
        self._static: dict[tuple[str, str], RouteRules] = {}

    @property
    def cors(self) -> bool:
        return self.any_origin or bool(self.origins)

    def rules_for(self, scope: Scope) -> RouteRules | None:
        """The API route that answers this request, if one does (by path and method)."""
        if not scope["path"].startswith(STRICT_PREFIX):
            return None
        if self._rules is None:
            self._rules = route_rules(self.router.routes)
            self._static = _static_rules(self._rules)
        method, path = scope["method"], scope["path"]
        static = self._static.get((method, path))
        if static is not None:
            return static
        return next((r for r in self._rules if r.answers(method, path)), None)

    def _origin_allowed(self, origin: str) -> bool:
        return self.any_origin or origin.lower() in self.origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if not query.isascii() and not _is_utf8(query):
            # A server hands on a request line's bytes as they came; what is not UTF-8 is no
            # query the API can read (and Starlette's URL would fail on it).
            unreadable = ProblemError("The query string is not UTF-8; percent-encode its bytes.")
            await problem_response(scope["path"], unreadable)(scope, receive, send)
            return
        method = scope["method"]
        origin = header(scope, b"origin")
        shared = scope["path"].startswith(CORS_PREFIXES)
        if method == "OPTIONS" and origin and self.cors and shared:
            requested = header(scope, b"access-control-request-method")
            if requested is not None:
                await self._preflight(scope, receive, send, origin, requested)
                return

        head = method == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}
        send = self._finishing(scope, send, origin, head)

        rules = self.rules_for(scope)
        if rules is not None:
            refusal: ProblemError | None = None
            if rules.strict:
                refusal = unknown_parameters(rules, scope.get("query_string", b""))
            if refusal is None and rules.produces:
                accept = header(scope, b"accept")
                if not acceptable(accept, rules.produces):
                    served = ", ".join(sorted(rules.produces))
                    refusal = NotAcceptable(
                        f"This resource is served as: {served}; the Accept header "
                        f"({(accept or '')[:200]!r}) names none of them."
                    )
            if refusal is not None:
                await problem_response(scope["path"], refusal)(scope, receive, send)
                return

        if scope["method"] == "GET" and scope["path"] == self.openapi_url:
            await self._validated(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _finishing(self, scope: Scope, send: Send, origin: str | None, head: bool) -> Send:
        """``send`` with the CORS headers added to the start and, for HEAD, no body."""
        cross_origin = (
            self.cors
            and scope["method"] == "GET"
            and scope["path"].startswith(CORS_PREFIXES)
            and header(scope, b"authorization") is None
            and origin is not None
            and self._origin_allowed(origin)
        )
        vary_origin = bool(self.origins) and scope["method"] == "GET"

        async def finishing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if cross_origin:
                    assert origin is not None
                    headers["Access-Control-Allow-Origin"] = "*" if self.any_origin else origin
                    headers["Access-Control-Expose-Headers"] = CORS_EXPOSED
                if vary_origin:
                    headers.add_vary_header("Origin")
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        return finishing

    async def _preflight(
        self, scope: Scope, receive: Receive, send: Send, origin: str, requested: str
    ) -> None:
        """Answer a CORS preflight: 204 with what may be done, or 403 saying what may not."""
        asked_headers = {
            h.strip().lower()
            for h in (header(scope, b"access-control-request-headers") or "")[:1000].split(",")
            if h.strip()
        }
        refusal = None
        if not self._origin_allowed(origin):
            refusal = f"The origin {origin[:200]!r} is not among those that may read this API."
        elif requested.upper() not in ("GET", "HEAD"):
            refusal = "Cross-origin pages may only read (GET, HEAD) this API."
        elif forbidden := sorted(asked_headers - CORS_REQUEST_HEADERS):
            refusal = (
                f"Cross-origin requests may not send {', '.join(forbidden)[:200]}: they are "
                "anonymous reads (a token is never accepted from another origin)."
            )
        if refusal is not None:
            await problem_response(scope["path"], CorsRefused(refusal))(scope, receive, send)
            return
        headers = [
            (b"access-control-allow-origin", (b"*" if self.any_origin else origin.encode())),
            (b"access-control-allow-methods", CORS_METHODS.encode()),
            (b"access-control-allow-headers", ", ".join(sorted(CORS_REQUEST_HEADERS)).encode()),
            (b"access-control-max-age", CORS_MAX_AGE.encode()),
            (b"vary", b"Origin"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    async def _validated(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer with the app's answer, given an ETag of its body, Last-Modified (when this
        app was built: the document cannot change before) and Cache-Control; 304 when the
        caller has it already."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, keep)
        assert start is not None
        body = b"".join(chunks)
        headers = MutableHeaders(scope=start)
        if start["status"] == 200:
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            headers["ETag"] = etag
            headers["Last-Modified"] = self.built
            headers["Cache-Control"] = PUBLIC_REFERENCE
            conditions = (header(scope, b"if-none-match"), header(scope, b"if-modified-since"))
            if fresh(*conditions, etag, self.built):
                del headers["content-length"]
                if "content-type" in headers:
                    del headers["content-type"]
                await send({**start, "status": 304})
                await send({"type": "http.response.body", "body": b""})
                return
        await send(start)
        await send({"type": "http.response.body", "body": body})


__all__ = ["HttpConventionsMiddleware", "acceptable", "route_rules", "unknown_parameters"]
