"""Plain functions that make what tests need, through the service layer and the real endpoints."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient

from recnet.auth.principal import Role
from recnet.auth.scopes import ALLOWED
from recnet.db import Database
from recnet.errors import NotFound
from recnet.models import OrganisationKind
from recnet.services import clients

# One organisation per role; member states are the migrated tenants.
ORGANISATION_FOR = {
    Role.researcher: "RSRCH",
    Role.partner: "UNICEF",
    Role.secretariat: "SEC",
    Role.member_state: "UZB",
}


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str
    organisation: str
    scopes: tuple[str, ...]


def make_client(
    database: Database,
    organisation: str,
    *,
    kind: OrganisationKind,
    scopes: list[str] | None = None,
) -> Credentials:
    """A client of ``organisation`` (registered first unless it is a member state)."""
    allowed = sorted(ALLOWED[kind])
    chosen = [s for s in allowed if scopes is None or s.value in scopes]
    with database.transaction() as session:
        if kind is not OrganisationKind.member_state:
            try:
                clients.organisation_by_code(session, organisation)
            except NotFound:
                clients.create_organisation(
                    session, code=organisation, kind=kind, name={"en": organisation}
                )
        issued = clients.create_client(
            session, organisation_code=organisation, name=f"{organisation} test", scopes=chosen
        )
    return Credentials(
        issued.client.client_id, issued.client_secret, organisation, tuple(issued.client.scopes)
    )


def client_for_role(database: Database, role: Role, organisation: str | None = None) -> Credentials:
    code = organisation or ORGANISATION_FOR[role]
    return make_client(database, code, kind=OrganisationKind(role.value))


def get_token(http: TestClient, credentials: Credentials, scope: str | None = None) -> str:
    data = {
        "grant_type": "client_credentials",
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
    }
    if scope is not None:
        data["scope"] = scope
    response = http.post("/v1/auth/token", data=data)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
