"""Authentication: the token endpoint, the public keys, and who the caller is."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import unquote

import anyio
from fastapi import APIRouter, Depends, Form, Request, Response
from sqlmodel import Session

from recnet.api.deps import AuthenticatedDep, SessionDep
from recnet.auth import keys
from recnet.db import Database
from recnet.schemas.auth import Caller, JsonWebKey, JsonWebKeySet, TokenResponse
from recnet.services import auth
from recnet.services.auth import OAuthError, RepeatedFailures, TokenRequest, security_log

# Routes that take no bearer token (the token endpoint speaks HTTP Basic), and those that do.
public_router = APIRouter(prefix="/auth", tags=["auth"])
router = APIRouter(prefix="/auth", tags=["auth"])

FormText = Annotated[str | None, Form(max_length=512)]
# RFC 6749 §5.2: a 401 invalid_client names the scheme the client may authenticate with.
BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="recnet"'}


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization")
    if header is None or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise auth.invalid_client() from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise auth.invalid_client()
    # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
    return unquote(client_id), unquote(secret)


def _record_apart(session: Session, due: list[RepeatedFailures]) -> None:
    for notice in due:
        auth.record_repeated_failures(session, notice)


async def repeated_failures(request: Request) -> AsyncIterator[list[RepeatedFailures]]:
    """Where a token request notes the audit events its failure makes due. They are written in
    a unit of work of their own once the request's has ended: the request's is rolled back (it
    failed), and on SQLite it holds the write lock until then. A request-scoped dependency ends
    after the session's (function-scoped) one, and before the error answer is sent."""
    due: list[RepeatedFailures] = []
    try:
        yield due
    finally:
        if due:
            database: Database = request.app.state.database
            with anyio.CancelScope(shield=True):
                try:
                    await database.run(lambda session: _record_apart(session, due), write=True)
                except Exception:  # the answer stands; the failures are in the log regardless
                    security_log.exception("could not record repeated failed token requests")


@public_router.post(
    "/token",
    response_model=TokenResponse,
    responses={400: {"description": "OAuth error"}, 401: {"description": "invalid_client"}},
)
def issue_token(
    request: Request,
    response: Response,
    session: SessionDep,
    due: Annotated[list[RepeatedFailures], Depends(repeated_failures)],
    grant_type: FormText = None,
    client_id: FormText = None,
    client_secret: FormText = None,
    scope: FormText = None,
) -> TokenResponse:
    """Exchange client credentials (form fields or HTTP Basic) for an access token."""
    try:
        basic = _basic_credentials(request)
        if basic is not None:
            if client_id is not None or client_secret is not None:
                raise OAuthError("invalid_request", "Use either HTTP Basic or form credentials.")
            client_id, client_secret = basic
        state = request.app.state
        token = auth.grant(
            session,
            state.settings,
            state.keyring,
            state.limiter,
            TokenRequest(
                grant_type=grant_type,
                client_id=client_id,
                client_secret=client_secret,
                scope=scope,
                address=request.client.host if request.client else None,
            ),
            due,
        )
    except OAuthError as refused:
        if refused.status_code == 401:  # invalid_client
            refused.headers.update(BASIC_CHALLENGE)
        raise
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return token


@public_router.get("/jwks.json", response_model=JsonWebKeySet)
def get_jwks(request: Request, response: Response, session: SessionDep) -> JsonWebKeySet:
    """The public keys that verify access tokens: the current key and recently rotated ones."""
    found = keys.verification_keys(session, request.app.state.settings)
    response.headers["Cache-Control"] = "public, max-age=60"
    return JsonWebKeySet(keys=[JsonWebKey.model_validate(k.public_jwk) for k in found])


@router.get("/me", response_model=Caller, responses={401: {"description": "No valid token"}})
def get_caller(principal: AuthenticatedDep) -> Caller:
    """Who the access token speaks for: client, organisation, role, tenant and scopes."""
    return Caller(
        client_id=principal.client_id or "",
        organisation=principal.organisation or "",
        role=principal.role.value,
        tenant=principal.tenant,
        scopes=sorted(principal.scopes),
    )
