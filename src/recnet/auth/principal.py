"""Who the caller is: ``Principal`` and its ``Role``, resolved from a bearer token (``resolve``),
and the scope check every route and the change feed share (``check_scopes``).

Nothing here knows FastAPI: the dependencies that hand a route its caller are in ``api.deps``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sqlmodel import Session

from recnet.auth.keys import KeyRing
from recnet.auth.scopes import ALLOWED, Scope
from recnet.auth.tokens import TokenError, credential_version, verify
from recnet.config import Settings
from recnet.errors import Forbidden, Unauthorized
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


def bearer_token(authorization: str | None) -> str | None:
    """The access token of an Authorization header's value: None without a header; a header
    that is not 'Bearer <token>' is refused, never taken as anonymous."""
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
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


def check_scopes(principal: Principal, *scopes: Scope, what: str = "This operation") -> Principal:
    """The caller is authenticated and holds every one of ``scopes``; else the refusal (401 or
    403) with its ``WWW-Authenticate`` challenge, in which ``what`` names what was refused."""
    if not principal.authenticated:
        raise Unauthorized(f"{what} needs an access token.", headers={"WWW-Authenticate": REALM})
    missing = [s.value for s in scopes if not principal.has(s)]
    if missing:
        raise Forbidden(
            f"{what} needs the scope {' '.join(missing)}.",
            headers={
                "WWW-Authenticate": f'{REALM}, error="insufficient_scope", '
                f'scope="{" ".join(missing)}"'
            },
        )
    return principal
