"""The direct path: the hottest reads answered without FastAPI's routing and parameter solving.

A pure ASGI layer, the innermost of the app's own (every other layer still applies: request id
and access log, metrics, the HTTP conventions with their unknown-parameter and Accept refusals,
HEAD and CORS). For a ``GET`` of a path it holds an endpoint for, it calls the endpoint with the
request; the endpoint either answers, going through the same door as every route (the caller,
the rate limit, the visibility rule, the read cache), or returns None, and the request goes on
to FastAPI untouched. An error the endpoint raises is answered by the app's own exception
handlers, as FastAPI would answer it.

Why: on a list request, FastAPI's routing through the included routers and the solving of the
list's sixteen query parameters cost more CPU than the rest of the event loop's work together.
The routes stay declared for the OpenAPI document and answer what the direct path leaves.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

# An endpoint of the direct path: its answer, or None to hand the request to the app.
DirectEndpoint = Callable[[Request], Awaitable[Response | None]]


class DirectReadsMiddleware:
    """Answers ``GET`` requests of the paths in ``endpoints`` directly (see the module)."""

    def __init__(self, app: ASGIApp, endpoints: Mapping[str, DirectEndpoint]) -> None:
        self.app = app
        self.endpoints = dict(endpoints)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = (
            self.endpoints.get(scope["path"])
            if scope["type"] == "http" and scope["method"] == "GET"
            else None
        )
        if endpoint is not None:
            request = Request(scope, receive)
            try:
                response = await endpoint(request)
            except Exception as exc:  # noqa: BLE001 (answered as the app answers it, or raised)
                response = await _handled(request, exc)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _handled(request: Request, exc: Exception) -> Response:
    """The answer of the app's exception handler for ``exc`` (by its class, nearest first), as
    FastAPI's exception layer gives it; raised on when the app has none but the last resort
    (the outer layers answer that one with a 500)."""
    handlers = request.app.exception_handlers
    for cls in type(exc).__mro__:
        if cls is Exception:
            break
        handler = handlers.get(cls)
        if handler is not None:
            answer = handler(request, exc)
            response: Response = await answer if inspect.isawaitable(answer) else answer
            return response
    raise exc


__all__ = ["DirectEndpoint", "DirectReadsMiddleware"]
