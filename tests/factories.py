"""Plain functions that make what tests need, through the service layer and the real endpoints."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient

from recnet.auth.principal import Principal, Role
from recnet.auth.scopes import ALLOWED
from recnet.db import Database, set_tenant
from recnet.errors import NotFound
from recnet.models import Record
from recnet.schemas.vocabularies import OrganisationKind
from recnet.services import clients, records
from recnet.services.records import Kind

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


def practice_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "title": {
            "en": "Mobile classes for returned children",
            "ru": "Мобильные классы для вернувшихся детей",
        },
        "summary": {
            "en": "Teachers travel to families in remote districts.",
            "ru": "Учителя выезжают к семьям в отдалённые районы.",
        },
        "description": {
            "en": "Schooling resumes at home while documents are restored.",
            "ru": "Обучение возобновляется на дому, пока восстанавливаются документы.",
        },
        "working_group": "psychosocial_health_education",
        "approaches": ["mobile_classes", "education"],
        "target_groups": ["children_5_11", "girls"],
        "geographic_scope": "national",
        "evidence_level": "monitoring",
        "tlp": "CLEAR",
    }
    body.update(overrides)
    return body


def programme_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "title": {"en": "Humanitarian operation", "ru": "Гуманитарная операция"},
        "description": {
            "en": "Repatriation of women and children from conflict zones.",
            "ru": "Репатриация женщин и детей из зон конфликтов.",
        },
        "lead_agency": {"en": "National commission", "ru": "Национальная комиссия"},
        "activity_status": "implementation",
        "components": ["family_reunification", "psychosocial"],
        "dates": [{"type": "actual_start", "date": "2019-01-01"}],
        "budgets": [
            {
                "amount": "1000000.00",
                "currency": "USD",
                "period_start": "2019-01-01",
                "period_end": "2019-12-31",
            }
        ],
        "tlp": "CLEAR",
    }
    body.update(overrides)
    return body


def agency_principal(tenant: str = "UZB") -> Principal:
    """A member state's principal with every write scope, for service-level factories."""
    return Principal(
        role=Role.member_state,
        client_id=f"test-{tenant.lower()}",
        organisation=tenant,
        tenant=tenant,
        scopes=frozenset(s.value for s in ALLOWED[OrganisationKind.member_state]),
    )


def make_record(database: Database, kind: Kind, tenant: str = "UZB", **overrides: object) -> Record:
    """A record written through the service layer (as the agency of ``tenant``)."""
    bodies = {"practice": practice_body, "programme": programme_body}
    with database.transaction() as session:
        set_tenant(session, tenant)
        record = records.create(
            session, agency_principal(tenant), kind, bodies[kind.name](**overrides)
        )
        session.expunge(record)
    return record
