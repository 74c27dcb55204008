"""Pure ASGI middleware: request ids, access log, body limits, and the last-resort 500."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from itertools import accumulate
from typing import Any

import anyio
import anyio.to_thread
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recnet.errors import (
    Conflict,
    FieldError,
    InternalError,
    PayloadTooLarge,
    ProblemError,
    ValidationProblem,
    problem_response,
)
from recnet.logs import request_id_var
from recnet.services import idempotency

access_log = logging.getLogger("recnet.access")
error_log = logging.getLogger("recnet.errors")

REQUEST_ID_HEADER = "x-request-id"
# A client's request id is echoed into headers and logs: accept only a plain token.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def _incoming_request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _VALID_REQUEST_ID.match(candidate):
                return candidate
            break
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Gives every request an id, logs one JSON line for it, and turns a crash into a 500 problem.

    It is the outermost layer, so even an unhandled exception is answered with the request id
    and logged with its stack trace, and the client sees nothing of the trace.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = _incoming_request_id(scope)
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        sent_bytes = 0
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, sent_bytes, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            elif message["type"] == "http.response.body":
                sent_bytes += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            error_log.exception(
                "unhandled error on %s %s",
                scope["method"],
                scope["path"],
                extra={"request_id": request_id},
            )
            if not response_started:
                response = problem_response(
                    scope["path"], InternalError("An unexpected error occurred.")
                )
                await response(scope, receive, send_with_id)
        finally:
            client = scope.get("client")
            access_log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "query": scope.get("query_string", b"").decode("latin-1")[:512],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "bytes": sent_bytes,
                    "client": client[0] if client else None,
                },
            )
            request_id_var.reset(token)


MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in a JSON document, without parsing it."""
    brackets = _JSON_STRING.sub(b'""', body).translate(None, delete=_NOT_BRACKETS)
    return max(accumulate(_BRACKET_STEP[b] for b in brackets), default=0)


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


class BodyLimitMiddleware:
    """Refuses request bodies over a limit with 413, by declared length or by counting, and JSON
    bodies nested deeper than ``MAX_JSON_DEPTH`` with 422, before anything parses them."""

    def __init__(
        self,
        app: ASGIApp,
        limit_for: Callable[[str], int],
        streamed: Callable[[str], bool] = lambda _path: False,
    ) -> None:
        self.app = app
        self.limit_for = limit_for
        # Paths whose handlers parse large bodies themselves, safely: not buffered here.
        self.streamed = streamed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        too_large = PayloadTooLarge(f"The request body exceeds the limit of {limit} bytes.")
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit():
                    bad = ProblemError("The Content-Length header is not a number.")
                    await problem_response(scope["path"], bad)(scope, receive, send)
                    return
                if int(value) > limit:
                    await problem_response(scope["path"], too_large)(scope, receive, send)
                    return
                break

        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large
            return message

        if not _is_json(scope) or self.streamed(scope["path"]):
            await self.app(scope, counting_receive, send)
            return

        # JSON is bounded in size already: read it whole, measure its nesting, then replay it.
        chunks = []
        while True:
            try:
                message = await counting_receive()
            except PayloadTooLarge as exc:
                await problem_response(scope["path"], exc)(scope, receive, send)
                return
            if message["type"] != "http.request":
                await self.app(scope, receive, send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if json_depth(body) > MAX_JSON_DEPTH:
            too_deep = ValidationProblem(
                f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels.",
                errors=[
                    FieldError(
                        location="body",
                        field="",
                        pointer="",
                        code="too_deep",
                        message=f"nesting deeper than {MAX_JSON_DEPTH} levels",
                    )
                ],
            )
            await problem_response(scope["path"], too_deep)(scope, receive, send)
            return
        await self.app(scope, _replaying(body, receive), send)


_VALID_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


class IdempotencyMiddleware:
    """Makes a POST with ``Idempotency-Key`` safe to retry: one effect, the first answer replayed.

    It sits inside the body limits, so the body it reads whole is already bounded.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        key = _header(scope, b"idempotency-key")
        if key is None:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if not _VALID_IDEMPOTENCY_KEY.match(key):
            problem = ValidationProblem("Idempotency-Key must be 1-255 visible ASCII characters.")
            await problem_response(path, problem)(scope, receive, send)
            return
        body, replay_receive = await _read_body(receive)
        state = scope["app"].state
        database = state.database

        async def admitted(function: Callable[..., Any], *args: Any) -> Any:
            # Database work here takes a slot like any request's (see Database.admission).
            async with database.admission():
                return await anyio.to_thread.run_sync(function, *args)

        owner = await admitted(_owner, state, scope)
        if owner is None:  # an unacceptable token: the route itself answers 401
            await self.app(scope, replay_receive, send)
            return
        request_hash = idempotency.fingerprint(
            "POST",
            path,
            scope.get("query_string", b""),
            _header(scope, b"content-type") or "",
            body,
        )
        outcome = await admitted(
            idempotency.reserve, database, owner, key, "POST", path, request_hash
        )
        if isinstance(outcome, idempotency.Mismatch):
            problem = ValidationProblem(
                "This Idempotency-Key was used for a different request; use a new key."
            )
            await problem_response(path, problem)(scope, receive, send)
            return
        if isinstance(outcome, idempotency.InProgress):
            busy = Conflict("A request with this Idempotency-Key is still being processed.")
            await problem_response(path, busy)(scope, receive, send)
            return
        if isinstance(outcome, idempotency.Replay):
            headers = {**outcome.headers, "idempotent-replayed": "true"}
            response = Response(outcome.body, status_code=outcome.status, headers=headers)
            await response(scope, receive, send)
            return

        status = 500
        captured_headers: dict[str, str] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status, captured_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                captured_headers = {
                    k.decode("latin-1").lower(): v.decode("latin-1")
                    for k, v in message.get("headers", [])
                }
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capture)
        finally:
            with anyio.CancelScope(shield=True):
                if status < 500:
                    sent = b"".join(chunks)
                    await admitted(
                        idempotency.complete, database, owner, key, status, captured_headers, sent
                    )
                else:
                    await admitted(idempotency.release, database, owner, key)


def _header(scope: Scope, name: bytes) -> str | None:
    for header, value in scope["headers"]:
        if header == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    return body, _replaying(body, receive)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app a body already read, then defers to the real one."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _owner(state: Any, scope: Scope) -> str | None:
    """Whose key it is: the client (its token fully checked), or the address if anonymous."""
    from recnet.auth.principal import resolve
    from recnet.errors import Unauthorized

    authorization = _header(scope, b"authorization")
    if authorization is None:
        client = scope.get("client")
        return f"addr:{client[0] if client else '-'}"
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    try:
        with state.database.transaction(write=False) as session:
            principal = resolve(session, state.settings, state.keyring, token.strip())
    except Unauthorized:
        return None
    return f"client:{principal.client_id}"
