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

The caller's header is read through ``oauth2`` (the client-credentials flow, with the scopes and
what each allows), so the OpenAPI document names the flow and, per operation, the scopes that
``Require`` asks for: Swagger UI's Authorize and code generators see them. It only documents: it
never refuses a request; ``get_principal`` and ``check_scopes`` decide.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2
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

# Where clients exchange their credentials for a token (api/v1/auth.py serves it).
TOKEN_PATH = "/v1/auth/token"
SECURITY_SCHEME = "oauth2"

# What each scope lets a client do, as the OpenAPI document and the Authorize dialog show it.
SCOPE_DESCRIPTIONS: dict[Scope, str] = {
    Scope.practices_write: "Create, update, publish and delete its own state's good practices.",
    Scope.programmes_write: "Create, update, publish and delete its own state's programmes.",
    Scope.statistics_write: "Import its own state's repatriation statistics.",
    Scope.feeds_read: "Read the change feed (GET /v1/feeds/changes).",
    Scope.subscriptions_write: "Register and manage webhook subscriptions.",
    Scope.admin: "Secretariat administration: the audit trail and the registered clients.",
}


class OAuth2ClientCredentials(OAuth2):
    """The OAuth2 client-credentials flow as a security dependency that only documents: it hands
    on the Authorization header (or None) and never refuses, whatever ``auto_error`` would do."""

    def __init__(self, token_url: str, scopes: dict[Scope, str], scheme_name: str) -> None:
        flow = OAuthFlowClientCredentials(
            tokenUrl=token_url, scopes={scope.value: text for scope, text in scopes.items()}
        )
        super().__init__(
            flows=OAuthFlows(clientCredentials=flow),
            scheme_name=scheme_name,
            description=(
                "Client credentials (HTTP Basic or form fields) for a short-lived bearer token. "
                "Routes open to anonymous callers answer more to a token; the others need one, "
                "with the scopes they list."
            ),
            auto_error=False,
        )


oauth2 = OAuth2ClientCredentials(TOKEN_PATH, SCOPE_DESCRIPTIONS, SECURITY_SCHEME)
AuthorizationHeader = Annotated[str | None, Security(oauth2)]


def get_principal(
    request: Request, session: SessionDep, authorization: AuthorizationHeader
) -> Principal:
    """The caller: anonymous without a token; a bad token is refused, never taken as anonymous."""
    token = bearer_token(authorization)
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
    """A dependency: the caller is authenticated and holds every one of ``scopes`` (which the
    OpenAPI document lists on the operation)."""

    def dependency(principal: PrincipalDep) -> Principal:
        return check_scopes(principal, *scopes)

    return Security(dependency, scopes=[scope.value for scope in scopes])


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
