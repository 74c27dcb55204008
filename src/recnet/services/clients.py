"""Organisations and their API clients: registration, secrets shown once, disabling, rotation."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from recnet.auth import secrets as client_secrets
from recnet.auth.scopes import ALLOWED, Scope
from recnet.clock import utcnow
from recnet.errors import Conflict, NotFound, ValidationProblem
from recnet.models import ApiClient, Organisation
from recnet.repositories.clients import find_client
from recnet.schemas.vocabularies import OrganisationKind

ORGANISATION_CODE = re.compile(r"^[A-Z][A-Z0-9_-]{1,15}$")


@dataclass(frozen=True)
class IssuedCredentials:
    """A client with its secret in clear: returned once, at creation or rotation, never stored."""

    client: ApiClient
    organisation: Organisation
    client_secret: str


def create_organisation(
    session: Session, *, code: str, kind: OrganisationKind, name: dict[str, str]
) -> Organisation:
    if not ORGANISATION_CODE.match(code):
        raise ValidationProblem(
            f"Organisation code {code!r} must be 2-16 upper-case letters, digits, '-' or '_'."
        )
    if kind is OrganisationKind.member_state:
        # The tenants are fixed reference data, created by the migrations.
        raise ValidationProblem("Member states are reference data and cannot be added.")
    if session.exec(select(Organisation).where(Organisation.code == code)).first():
        raise Conflict(f"An organisation with code {code} already exists.")
    organisation = Organisation(code=code, kind=kind.value, name=name)
    session.add(organisation)
    session.flush()
    return organisation


def organisation_by_code(session: Session, code: str) -> Organisation:
    organisation = session.exec(select(Organisation).where(Organisation.code == code)).first()
    if organisation is None:
        raise NotFound(f"No organisation with code {code}.")
    return organisation


def create_client(
    session: Session, *, organisation_code: str, name: str, scopes: Sequence[Scope]
) -> IssuedCredentials:
    organisation = organisation_by_code(session, organisation_code)
    allowed = ALLOWED[OrganisationKind(organisation.kind)]
    refused = [s.value for s in scopes if s not in allowed]
    if refused:
        raise ValidationProblem(
            f"A {organisation.kind} client cannot hold {', '.join(refused)}; "
            f"allowed: {', '.join(sorted(s.value for s in allowed))}."
        )
    if not name.strip() or len(name) > 200:
        raise ValidationProblem("A client name is 1-200 characters.")
    secret = client_secrets.new_client_secret()
    client = ApiClient(
        client_id=client_secrets.new_client_id(),
        organisation_id=organisation.id,
        name=name.strip(),
        scopes=sorted(s.value for s in scopes),
        secret_hash=client_secrets.hash_secret(secret),
    )
    session.add(client)
    session.flush()
    return IssuedCredentials(client, organisation, secret)


def list_clients(session: Session) -> Sequence[tuple[ApiClient, Organisation]]:
    query = (
        select(ApiClient, Organisation)
        .join(Organisation, col(ApiClient.organisation_id) == col(Organisation.id))
        .order_by(col(Organisation.code), col(ApiClient.created_at))
    )
    return session.exec(query).all()


def client_by_id(session: Session, client_id: str) -> tuple[ApiClient, Organisation]:
    row = find_client(session, client_id)
    if row is None:
        raise NotFound(f"No client with id {client_id}.")
    return row


def disable_client(session: Session, client_id: str) -> ApiClient:
    client, _ = client_by_id(session, client_id)
    if client.disabled_at is None:
        client.disabled_at = utcnow()
        session.add(client)
        session.flush()
    return client


def rotate_secret(session: Session, client_id: str) -> IssuedCredentials:
    client, organisation = client_by_id(session, client_id)
    secret = client_secrets.new_client_secret()
    client.secret_hash = client_secrets.hash_secret(secret)
    client.secret_rotated_at = utcnow()
    session.add(client)
    session.flush()
    return IssuedCredentials(client, organisation, secret)


def authenticate(session: Session, client_id: str, secret: str) -> tuple[ApiClient, Organisation]:
    """The client and its organisation if the secret is right and the client enabled.

    Unknown ids cost the same hash as wrong secrets, so timing does not tell which ids exist.
    """
    row = find_client(session, client_id)
    if row is None:
        client_secrets.verify_secret(secret, client_secrets.dummy_hash())
        raise LookupError("unknown client")
    client, organisation = row
    if not client_secrets.verify_secret(secret, client.secret_hash):
        raise LookupError("wrong secret")
    if client.disabled_at is not None:
        raise LookupError("client disabled")
    return client, organisation
