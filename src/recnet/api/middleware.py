"""Pure ASGI middleware: request ids, access log, body limits, and the last-resort 500."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import Any

import anyio
import anyio.to_thread
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from starlette.datastructures import MutableHeaders
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recnet.db import Database
from recnet.db.request import REQUEST_UNIT, RequestUnit
from recnet.errors import (
    Conflict,
    FieldError,
    InternalError,
    PayloadTooLarge,
    ProblemError,
    Unauthorized,
    ValidationProblem,
    database_unavailable,
    is_database_unavailable,
    problem_response,
)
from recnet.logs import request_id_var
from recnet.services import idempotency

access_log = logging.getLogger("recnet.access")
error_log = logging.getLogger("recnet.errors")

REQUEST_ID_HEADER = "x-request-id"
TOKEN_PATH = "/v1/auth/token"
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
        await self.app(scope, _replaying(body, receive), send)


CLIENT_GONE = "recnet.client_gone"


def client_gone(scope: Scope) -> None:
    """Note that the client disconnected before its request was answered (not an error)."""
    scope[CLIENT_GONE] = True


_VALID_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


class IdempotencyMiddleware:
    """Makes a POST with ``Idempotency-Key`` safe to retry: one effect, the first answer replayed.

    It sits inside the body limits, so the body it reads is whole and bounded. It opens the
    request's unit of work itself, holds the key in it, and commits the answer it keeps together
    with the change, before the answer is sent (``services.idempotency``). Every database
    failure on the way is answered 503, like the routes' own.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        key = _header(scope, b"idempotency-key")
        # The token endpoint changes nothing a retry could repeat, and its answer is a
        # credential, which is never kept: it ignores the key.
        if key is None or scope["path"] == TOKEN_PATH:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if not _VALID_IDEMPOTENCY_KEY.match(key):
            problem = ValidationProblem("Idempotency-Key must be 1-255 visible ASCII characters.")
            await problem_response(path, problem)(scope, receive, send)
            return
        body, replay_receive = await _read_body(receive)
        if body is None:
            client_gone(scope)
            return
        state = scope["app"].state
        try:
            answer = await self._answer(scope, replay_receive, key, body)
        except SQLAlchemyError as exc:
            if not is_database_unavailable(exc):
                raise
            error_log.warning("database unavailable: %s", exc.__class__.__name__, exc_info=exc)
            answer = [
                problem_response(path, database_unavailable(state.settings.retry_after_seconds))
            ]
        for part in answer:
            if isinstance(part, Response):
                await part(scope, receive, send)
            else:
                await send(part)

    async def _answer(
        self, scope: Scope, receive: Receive, key: str, body: bytes
    ) -> Sequence[Message | Response]:
        """The whole answer to a keyed POST, its effect and the kept answer committed."""
        state = scope["app"].state
        database: Database = state.database
        path = scope["path"]
        try:
            owner = await database.run(lambda session: _owner(session, state, scope), write=False)
        except Unauthorized:
            owner = None
        if owner is None:  # an unacceptable token: the route itself answers 401
            return await _captured(self.app, scope, receive)
        request_hash = idempotency.fingerprint(
            "POST",
            path,
            scope.get("query_string", b""),
            _header(scope, b"content-type") or "",
            body,
        )
        # Not ``database.run``: this unit spans the app's whole run and is committed after it,
        # together with the answer kept (``RequestUnit``), so it is opened and ended by hand,
        # each step in a worker thread while the slot is held.
        async with database.admission():
            unit = RequestUnit(database)
            try:
                session = await anyio.to_thread.run_sync(unit.begin)
                outcome = await anyio.to_thread.run_sync(
                    idempotency.claim, session, owner, key, request_hash
                )
                if not isinstance(outcome, idempotency.Claimed):
                    await anyio.to_thread.run_sync(unit.rollback)
                    return [_refusal(path, outcome)]
                scope[REQUEST_UNIT] = unit
                messages = await _captured(self.app, scope, receive)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(_quietly, unit.rollback)
                raise
            status, headers, sent = _parts(messages)
            with anyio.CancelScope(shield=True):
                if unit.open and _kept(status):
                    await anyio.to_thread.run_sync(
                        _keep_and_commit,
                        unit,
                        owner,
                        key,
                        path,
                        request_hash,
                        status,
                        headers,
                        sent,
                    )
                elif unit.open:
                    await anyio.to_thread.run_sync(_quietly, unit.rollback)
                elif _kept(status):
                    # The route failed and rolled its work back: keep its refusal apart.
                    await anyio.to_thread.run_sync(
                        _quietly,
                        idempotency.keep_apart,
                        database,
                        owner,
                        key,
                        path,
                        request_hash,
                        status,
                        headers,
                        sent,
                    )
                await anyio.to_thread.run_sync(_quietly, idempotency.purge_expired, database, owner)
        return messages


async def _captured(app: ASGIApp, scope: Scope, receive: Receive) -> list[Message]:
    """Run the app and hold its whole answer instead of sending it."""
    messages: list[Message] = []

    async def capture(message: Message) -> None:
        messages.append(message)

    await app(scope, receive, capture)
    return messages


def _parts(messages: list[Message]) -> tuple[int, dict[str, str], bytes]:
    status = 500
    headers: dict[str, str] = {}
    chunks = []
    for message in messages:
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = {
                k.decode("latin-1").lower(): v.decode("latin-1")
                for k, v in message.get("headers", [])
            }
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
    return status, headers, b"".join(chunks)


def _kept(status: int) -> bool:
    """Whether an answer is kept for replay: not when it says "try again later" (a fault, a
    rate limit, a timeout), which a retry with the same key must be able to get past."""
    return status < 500 and status not in (408, 429)


def _refusal(path: str, outcome: idempotency.Outcome) -> Response:
    if isinstance(outcome, idempotency.Mismatch):
        problem: ProblemError = ValidationProblem(
            "This Idempotency-Key was used for a different request; use a new key."
        )
        return problem_response(path, problem)
    if isinstance(outcome, idempotency.InProgress):
        problem = Conflict("A request with this Idempotency-Key is still being processed.")
        return problem_response(path, problem)
    assert isinstance(outcome, idempotency.Replay)
    headers = {**outcome.headers, "idempotent-replayed": "true"}
    return Response(outcome.body, status_code=outcome.status, headers=headers)


def _keep_and_commit(
    unit: RequestUnit,
    owner: str,
    key: str,
    path: str,
    request_hash: str,
    status: int,
    headers: dict[str, str],
    body: bytes,
) -> None:
    assert unit.session is not None
    try:
        idempotency.keep(unit.session, owner, key, path, request_hash, status, headers, body)
    except BaseException as exc:
        unit.rollback(exc)
        raise
    unit.commit()


def _quietly(function: Callable[..., Any], *args: Any) -> None:
    """Clean-up whose failure changes nothing for the client (a rollback, a purge)."""
    try:
        function(*args)
    except SQLAlchemyError as exc:
        error_log.warning("clean-up failed: %s", exc.__class__.__name__, exc_info=exc)


def _header(scope: Scope, name: bytes) -> str | None:
    for header, value in scope["headers"]:
        if header == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


async def _read_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole body (None if the client went away first) and a receive that replays it."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None, receive
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


def _owner(session: Session, state: Any, scope: Scope) -> str | None:
    """Whose key it is: the client (its token fully checked), or the address if anonymous.
    None for a malformed Authorization header; ``Unauthorized`` for an unacceptable token."""
    from recnet.auth.principal import resolve

    authorization = _header(scope, b"authorization")
    if authorization is None:
        client = scope.get("client")
        return f"addr:{client[0] if client else '-'}"
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    principal = resolve(session, state.settings, state.keyring, token.strip())
    return f"client:{principal.client_id}"
