"""The one door: every dependency a route may ask for, on one screen.

- ``SessionDep``: the request's unit of work (``api.unit_of_work``); ``DatabaseDep``: the database
  itself, for work apart from the request's session (streams, probes, the token endpoint);
- ``PrincipalDep``: the caller, anonymous without a token (a bad token is refused);
  ``AuthenticatedDep``, ``AdminDep`` and ``Require(*scopes)`` for routes that need more;
  ``principal_of``: the same caller for async routes that must hold no session (long polls,
  cached reads);
- ``RateLimit``: the rate-limit dependency, by caller; ``AddressRateLimit`` for the token endpoint,
  whose Authorization header carries client credentials, not a bearer token. Both, and every route
  or layer that counts a request itself, go through ``count_request``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from sqlmodel import Session

from recnet.api.unit_of_work import get_database, get_session
from recnet.auth.principal import ANONYMOUS, Principal, bearer_token, check_scopes, resolve
from recnet.auth.ratelimit import RateLimiter, client_key
from recnet.auth.scopes import Scope
from recnet.config import Settings
from recnet.db import Database, set_tenant
from recnet.errors import TooManyRequests

# scope="function": the session commits before the answer is sent, so a client never sees a
# success for a change that failed to commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
DatabaseDep = Annotated[Database, Depends(get_database)]


def get_principal(request: Request, session: SessionDep) -> Principal:
    """The caller: anonymous without a token; a bad token is refused, never taken as anonymous."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        principal = ANONYMOUS
    else:
        app_state = request.app.state
        principal = resolve(session, app_state.settings, app_state.keyring, token)
    # Row-level security on PostgreSQL sees the caller's tenant for this transaction only.
    set_tenant(session, principal.tenant)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def principal_of(request: Request) -> Principal:
    """The caller, resolved in a short transaction of its own, for routes that must not hold a
    database connection for their whole duration (long polls)."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        return ANONYMOUS
    state = request.app.state
    database: Database = state.database
    return await database.run(
        lambda session: resolve(session, state.settings, state.keyring, token), write=False
    )


def Require(*scopes: Scope) -> object:  # noqa: N802 (read as a type: Annotated[Principal, Require(...)])
    """A dependency: the caller is authenticated and holds every one of ``scopes``."""

    def dependency(principal: PrincipalDep) -> Principal:
        return check_scopes(principal, *scopes)

    return Depends(dependency)


def require_authenticated(principal: PrincipalDep) -> Principal:
    return check_scopes(principal)


AuthenticatedDep = Annotated[Principal, Depends(require_authenticated)]
AdminDep = Annotated[Principal, Require(Scope.admin)]


def count_request(request: Request, response: Response, principal: Principal) -> None:
    """Count the request against its client (or, for anonymous callers, its address): 429 past
    the limit, and the RateLimit-* headers on ``response`` either way."""
    settings: Settings = request.app.state.settings
    limiter: RateLimiter = request.app.state.limiter
    limit = settings.rate_client if principal.authenticated else settings.rate_anonymous
    address = request.client.host if request.client else None
    window = limiter.hit(
        client_key(principal.client_id, address), limit, settings.rate_window_seconds
    )
    if window.exceeded:
        raise TooManyRequests(
            f"More than {limit} requests in {settings.rate_window_seconds} s; "
            f"retry in {window.reset_seconds} s.",
            headers={**window.headers(), "Retry-After": str(window.reset_seconds)},
        )
    response.headers.update(window.headers())


def rate_limit(request: Request, response: Response, principal: PrincipalDep) -> None:
    """Count the request against its caller (``count_request``)."""
    count_request(request, response, principal)


def rate_limit_by_address(request: Request, response: Response) -> None:
    """Count a request that carries no bearer token (the token endpoint) against its address."""
    count_request(request, response, ANONYMOUS)


RateLimit = Depends(rate_limit)
AddressRateLimit = Depends(rate_limit_by_address)
