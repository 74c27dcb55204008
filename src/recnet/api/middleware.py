"""Pure ASGI middleware: request ids, access log, body limits, and the last-resort 500.

The idempotency layer, stacked with these, lives in ``api.idempotency`` (imported here for
``app.py``).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from itertools import accumulate

from starlette.datastructures import MutableHeaders
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recnet.api.asgi import CLIENT_GONE, client_gone, replaying
from recnet.errors import (
    FieldError,
    InternalError,
    PayloadTooLarge,
    ProblemError,
    ValidationProblem,
    problem_response,
)
from recnet.logs import request_id_var

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
    # 32 random hex digits, as uuid4().hex gives (but for its 6 fixed bits), without the
    # cost of building a UUID object on every request.
    return os.urandom(16).hex()


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
        except ClientDisconnect:
            client_gone(scope)
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
            if scope.get(CLIENT_GONE) and not response_started:
                status = 499  # as proxies log it: the client closed the request, nothing done
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
    """Reads every request body whole before the app sees it, and refuses it when it is over a
    limit (413, by declared length or by counting), when JSON nests deeper than
    ``MAX_JSON_DEPTH`` (422), or when it did not arrive whole.

    Reading first means a slow or stalled upload holds no database slot and no lock while it
    trickles in, and a body the client abandoned (it disconnected, or sent less than its
    ``Content-Length``) is never processed: nothing of it is written.
    """

    def __init__(
        self,
        app: ASGIApp,
        limit_for: Callable[[str], int],
        streamed: Callable[[str], bool] = lambda _path: False,
    ) -> None:
        self.app = app
        self.limit_for = limit_for
        # Paths whose handlers parse large bodies themselves, safely: their nesting is not
        # measured here.
        self.streamed = streamed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = self.limit_for(path)
        too_large = PayloadTooLarge(f"The request body exceeds the limit of {limit} bytes.")
        declared: int | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit():
                    bad = ProblemError("The Content-Length header is not a number.")
                    await problem_response(path, bad)(scope, receive, send)
                    return
                declared = int(value)
                if declared > limit:
                    await problem_response(path, too_large)(scope, receive, send)
                    return
            elif name == b"transfer-encoding":
                chunked = True
        if not declared and not chunked:  # no body: nothing to wait for
            await self.app(scope, receive, send)
            return

        chunks = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away mid-body
                client_gone(scope)
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                await problem_response(path, too_large)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        if declared is not None and received != declared:
            short = ProblemError(
                f"The request body has {received} bytes; its Content-Length said {declared}."
            )
            await problem_response(path, short)(scope, receive, send)
            return
        body = b"".join(chunks)
        del chunks
        if _is_json(scope) and not self.streamed(path) and json_depth(body) > MAX_JSON_DEPTH:
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
            await problem_response(path, too_deep)(scope, receive, send)
            return
        await self.app(scope, replaying(body, receive), send)


__all__ = [
    "MAX_JSON_DEPTH",
    "BodyLimitMiddleware",
    "RequestContextMiddleware",
    "json_depth",
]
