"""The caller of a request, resolved once per request, and the scope requirements of routes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlmodel import Session

from recnet.auth.keys import KeyRing
from recnet.auth.ratelimit import RateLimiter, client_key
from recnet.auth.scopes import ALLOWED, Scope
from recnet.auth.tokens import TokenError, credential_version, verify
from recnet.config import Settings
from recnet.db import Database, SessionDep, set_tenant
from recnet.errors import Forbidden, TooManyRequests, Unauthorized
from recnet.repositories import clients
from recnet.schemas.vocabularies import OrganisationKind

REALM = 'Bearer realm="recnet"'


class Role(StrEnum):
    """Who a caller is, for the sharing rules: its organisation's kind, or anonymous."""

    anonymous = "anonymous"
    researcher = "researcher"
    partner = "partner"
    member_state = "member_state"
    secretariat = "secretariat"


@dataclass(frozen=True)
class Principal:
    role: Role
    client_id: str | None = None
    organisation: str | None = None
    tenant: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def authenticated(self) -> bool:
        return self.role is not Role.anonymous

    def has(self, scope: Scope) -> bool:
        return scope.value in self.scopes


ANONYMOUS = Principal(role=Role.anonymous)


def invalid_token(description: str) -> Unauthorized:
    quoted = description.replace('"', "'")
    return Unauthorized(
        f"The access token is not acceptable: {description}.",
        headers={
            "WWW-Authenticate": f'{REALM}, error="invalid_token", error_description="{quoted}"'
        },
    )


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "Use the Authorization header as 'Bearer <access token>'.",
            headers={"WWW-Authenticate": f'{REALM}, error="invalid_request"'},
        )
    return token.strip()


def resolve(session: Session, settings: Settings, keyring: KeyRing, token: str) -> Principal:
    """The principal a token speaks for, checked against the client as it is now."""
    try:
        claims = verify(token, settings, lambda kid: keyring.verification_key(session, kid))
    except TokenError as exc:
        raise invalid_token(str(exc)) from None
    row = clients.find_client(session, claims.client_id)
    if row is None:
        raise invalid_token("unknown client")
    client, organisation = row
    if client.disabled_at is not None:
        raise invalid_token("client disabled")
    # A rotation ends every token issued before it, on the next request.
    current = credential_version(client.secret_rotated_at)
    if claims.credential_version is not None:
        if claims.credential_version != current:
            raise invalid_token("client secret rotated")
    elif client.secret_rotated_at is not None and (
        claims.issued_at <= client.secret_rotated_at.timestamp()
    ):
        raise invalid_token("client secret rotated")
    if organisation.code != claims.org:
        raise invalid_token("client moved to another organisation")
    kind = OrganisationKind(organisation.kind)
    # A scope removed from the client, or not allowed for its kind, stops working at once.
    scopes = claims.scopes & set(client.scopes) & {s.value for s in ALLOWED[kind]}
    return Principal(
        role=Role(kind.value),
        client_id=client.client_id,
        organisation=organisation.code,
        tenant=organisation.tenant,
        scopes=frozenset(scopes),
    )


def get_principal(request: Request, session: SessionDep) -> Principal:
    """The caller: anonymous without a token; a bad token is refused, never taken as anonymous."""
    token = bearer_token(request)
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


def require_scopes(*scopes: Scope) -> object:
    """A dependency: the caller is authenticated and holds every one of ``scopes``."""

    def dependency(principal: PrincipalDep) -> Principal:
        if not principal.authenticated:
            raise Unauthorized(
                "This operation needs an access token.", headers={"WWW-Authenticate": REALM}
            )
        missing = [s.value for s in scopes if not principal.has(s)]
        if missing:
            raise Forbidden(
                f"This operation needs the scope {' '.join(missing)}.",
                headers={
                    "WWW-Authenticate": f'{REALM}, error="insufficient_scope", '
                    f'scope="{" ".join(missing)}"'
                },
            )
        return principal

    return Depends(dependency)


def require_authenticated(principal: PrincipalDep) -> Principal:
    if not principal.authenticated:
        raise Unauthorized(
            "This operation needs an access token.", headers={"WWW-Authenticate": REALM}
        )
    return principal


AuthenticatedDep = Annotated[Principal, Depends(require_authenticated)]
AdminDep = Annotated[Principal, require_scopes(Scope.admin)]


def _count(request: Request, response: Response, key: str, limit: int) -> None:
    settings: Settings = request.app.state.settings
    limiter: RateLimiter = request.app.state.limiter
    window = limiter.hit(key, limit, settings.rate_window_seconds)
    if window.exceeded:
        raise TooManyRequests(
            f"More than {limit} requests in {settings.rate_window_seconds} s; "
            f"retry in {window.reset_seconds} s.",
            headers={**window.headers(), "Retry-After": str(window.reset_seconds)},
        )
    response.headers.update(window.headers())


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def enforce_rate_limit(request: Request, response: Response, principal: PrincipalDep) -> None:
    """Count the request against its client (or, for anonymous callers, its address)."""
    count_request(request, response, principal)


def count_request(request: Request, response: Response, principal: Principal) -> None:
    settings: Settings = request.app.state.settings
    limit = settings.rate_client if principal.authenticated else settings.rate_anonymous
    _count(request, response, client_key(principal.client_id, _address(request)), limit)


def enforce_address_rate_limit(request: Request, response: Response) -> None:
    """Count a request that carries no bearer token (the token endpoint) against its address."""
    settings: Settings = request.app.state.settings
    _count(request, response, client_key(None, _address(request)), settings.rate_anonymous)


async def principal_of(request: Request) -> Principal:
    """The caller, resolved in a short transaction of its own, for routes that must not hold a
    database connection for their whole duration (long polls)."""
    token = bearer_token(request)
    if token is None:
        return ANONYMOUS
    state = request.app.state
    database: Database = state.database
    return await database.run(
        lambda session: resolve(session, state.settings, state.keyring, token), write=False
    )
