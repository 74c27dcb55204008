"""The idempotency layer: a POST with ``Idempotency-Key`` is safe to retry.

A pure ASGI middleware that opens the request's unit of work itself, claims the key in it, and
commits the answer it keeps together with the change, before the answer is sent. The rules for
keys (claim, keep, replay, expiry) are in ``services.idempotency``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

import anyio
import anyio.to_thread
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recnet.api.asgi import client_gone, header, read_body
from recnet.api.unit_of_work import REQUEST_UNIT, RequestUnit
from recnet.auth.principal import bearer_token, resolve
from recnet.db import Database
from recnet.errors import (
    Conflict,
    ProblemError,
    Unauthorized,
    ValidationProblem,
    database_unavailable,
    is_database_unavailable,
    problem_response,
)
from recnet.services import idempotency

error_log = logging.getLogger("recnet.errors")

TOKEN_PATH = "/v1/auth/token"
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
        key = header(scope, b"idempotency-key")
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
        body, replay_receive = await read_body(receive)
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
        owner: str | None
        try:
            owner = await database.run(lambda session: _owner(session, state, scope), write=False)
        except Unauthorized:
            owner = None
        if owner is None:  # a malformed or unacceptable token: the route itself answers 401
            return await _captured(self.app, scope, receive)
        request_hash = idempotency.fingerprint(
            "POST",
            path,
            scope.get("query_string", b""),
            header(scope, b"content-type") or "",
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


def _owner(session: Session, state: Any, scope: Scope) -> str:
    """Whose key it is: the client (its token fully checked), or the address if anonymous.
    ``Unauthorized`` for a malformed Authorization header or an unacceptable token: the caller
    is resolved as the routes resolve it (``api.deps``)."""
    token = bearer_token(header(scope, b"authorization"))
    if token is None:
        client = scope.get("client")
        return f"addr:{client[0] if client else '-'}"
    principal = resolve(session, state.settings, state.keyring, token)
    return f"client:{principal.client_id}"
