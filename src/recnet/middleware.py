"""Pure ASGI middleware: request ids, access log, body limits, and the last-resort 500."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recnet.errors import InternalError, PayloadTooLarge, ProblemError, problem_response
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


class BodyLimitMiddleware:
    """Refuses request bodies over a limit with 413, by declared length or by counting."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

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

        await self.app(scope, counting_receive, send)
