"""A sample network for trying recnet: organisations, clients, practices, programmes, statistics.

The records (``demo_data/network.json``) draw on the documents the Council was founded on and on
public reporting: Uzbekistan's "Mehr" humanitarian operations, mahalla-based reintegration, mobile
classes, amnesty for women; Kazakhstan's "Zhusan" and Kyrgyzstan's "Meerim" operations; and
practices of all four working groups in all five member states. Each record says where it comes
from (drawn from the Council's reports, from public reporting, or illustrative) in its
``lessons_learned`` (practices) or ``legal_basis`` (programmes). The one figure the Council's
documents state — more than 530 people returned to Uzbekistan since 2019, mostly women and
children — is quoted as such. Every number in the statistics is illustrative: each observation
says so in OBS_STATUS (E, estimated) and COMMENT, and none is presented as official.

Loading is idempotent: records are upserted by their reference and statistics re-imported
unchanged. The demo clients are made once and their secrets printed then; a later load keeps
them (secrets are stored only as hashes, so they cannot be printed again) unless asked to rotate.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlmodel import Session

from recnet.auth.principal import Principal, Role
from recnet.auth.scopes import ALLOWED, Scope
from recnet.db import Database, alembic_config, normalise_url, set_tenant
from recnet.errors import NotFound
from recnet.schemas.vocabularies import OrganisationKind
from recnet.services import clients, records, statistics
from recnet.services.practices import PRACTICES
from recnet.services.programmes import PROGRAMMES
from recnet.services.statistics import ImportRequest

ILLUSTRATIVE = "Illustrative figure for demonstration, not an official statistic"
NETWORK = Path(__file__).parent / "demo_data" / "network.json"
MEMBER_STATES = ("KAZ", "KGZ", "TJK", "TKM", "UZB")

ORGANISATIONS = [
    ("SEC", OrganisationKind.secretariat, "Secretariat of the Council (UNOCT with ISRS)",
     "Секретариат Совета (УКТ ООН и ИСМИ)"),
    ("UNICEF", OrganisationKind.partner, "UNICEF", "ЮНИСЕФ"),
    ("UNODC", OrganisationKind.partner, "UNODC", "УНП ООН"),
]  # fmt: skip

# The demo's clients: organisation, name, and the shell variables the README's walkthroughs use.
DEMO_CLIENTS = (
    ("UZB", "Demo: Uzbekistan data office", "RECNET_CLIENT_ID", "RECNET_CLIENT_SECRET"),
    ("UNICEF", "Demo: UNICEF data office", "PARTNER_CLIENT_ID", "PARTNER_CLIENT_SECRET"),
)

# How large each state's illustrative figures are, relative to one another (not official).
STATE_SCALES = {"UZB": 3.0, "KAZ": 3.5, "TJK": 2.5, "KGZ": 2.0, "TKM": 1.5}


@cache
def network() -> dict[str, Any]:
    """The sample records, as written in demo_data/network.json."""
    loaded: dict[str, Any] = json.loads(NETWORK.read_text(encoding="utf-8"))
    return loaded


def _with_note(entry: dict[str, Any], field: str) -> dict[str, Any]:
    """The record's body, labelled with where its content comes from."""
    return {**entry["record"], field: network()["notes"][entry["note"]]}


def practice_records() -> list[tuple[str, str, dict[str, Any]]]:
    """(tenant, source_ref, body) of every sample practice."""
    return [
        (p["tenant"], p["source_ref"], _with_note(p, "lessons_learned"))
        for p in network()["practices"]
    ]


def programme_records() -> list[tuple[str, str, dict[str, Any]]]:
    """(tenant, source_ref, body) of every sample programme."""
    return [
        (p["tenant"], p["source_ref"], _with_note(p, "legal_basis"))
        for p in network()["programmes"]
    ]


def statistics_csv() -> bytes:
    """Illustrative statistics for the five member states, 2019-2023, each row labelled."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["REF_AREA", "INDICATOR", "SEX", "AGE", "COUNTERPART_AREA", "TIME_PERIOD",
                     "OBS_VALUE", "OBS_STATUS", "COMMENT"])  # fmt: skip
    bands = {"Y0T4": 9, "Y5T11": 14, "Y12T17": 6, "Y18T59": 20, "Y_GE60": 1}
    for state, scale in STATE_SCALES.items():
        for year in range(2019, 2024):
            for indicator, share in (("RETURNED", 1.0), ("ENROLLED_EDUCATION", 0.4)):
                cells: dict[tuple[str, str], int] = {}
                for (age, base), sex in itertools.product(bands.items(), ("F", "M")):
                    weight = 1.6 if sex == "F" else 0.6
                    value = round(base * scale * weight * share * (1 + (year - 2019) % 3) / 2)
                    if indicator == "ENROLLED_EDUCATION" and age in ("Y18T59", "Y_GE60", "Y0T4"):
                        continue
                    cells[(sex, age)] = value
                totals: dict[tuple[str, str], int] = {}
                for (sex, age), value in cells.items():
                    for key in ((sex, "_T"), ("_T", age), ("_T", "_T")):
                        totals[key] = totals.get(key, 0) + value
                for (sex, age), value in {**cells, **totals}.items():
                    writer.writerow([state, indicator, sex, age, "_T", str(year), value, "E",
                                     ILLUSTRATIVE])  # fmt: skip
    return buffer.getvalue().encode()


def pending_migration(url: str) -> tuple[str | None, str | None] | None:
    """(current, head) when the database is not at the latest migration, else None.

    Read as the connecting user, not the application role: before the first migration that role
    may not exist yet.
    """
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
    return None if current == head else (current, head)


SecretState = Literal["created", "kept", "rotated"]


@dataclass(frozen=True)
class DemoCredentials:
    role: str
    organisation: str
    client_id: str
    # None when the client existed and was kept: its secret was printed when it was made.
    client_secret: str | None
    scopes: list[str]
    secret: SecretState
    id_variable: str
    secret_variable: str


def _agency(tenant: str) -> Principal:
    return Principal(
        role=Role.member_state,
        client_id=f"demo-loader-{tenant.lower()}",
        organisation=tenant,
        tenant=tenant,
        scopes=frozenset(s.value for s in ALLOWED[OrganisationKind.member_state]),
    )


def _client(
    session: Session, organisation: str, name: str, variables: tuple[str, str], rotate: bool
) -> DemoCredentials:
    """The demo client of this name: made once; kept afterwards, or given a new secret."""
    kind = OrganisationKind(clients.organisation_by_code(session, organisation).kind)
    existing = [
        c for c, o in clients.list_clients(session) if o.code == organisation and c.name == name
    ]
    state: SecretState
    if existing and not rotate:
        client = existing[0]
        secret, state = None, "kept"
    else:
        scopes: list[Scope] = sorted(ALLOWED[kind])
        issued = (
            clients.rotate_secret(session, existing[0].client_id)
            if existing
            else clients.create_client(
                session, organisation_code=organisation, name=name, scopes=scopes
            )
        )
        client, secret = issued.client, issued.client_secret
        state = "rotated" if existing else "created"
    return DemoCredentials(
        role=kind.value,
        organisation=organisation,
        client_id=client.client_id,
        client_secret=secret,
        scopes=list(client.scopes),
        secret=state,
        id_variable=variables[0],
        secret_variable=variables[1],
    )


def load(database: Database, rotate: bool = False) -> list[DemoCredentials]:
    """Load (or refresh) the sample network; returns the demo clients' credentials.

    Raises ``Conflict`` (409) if the disclosure control refuses a state's statistics.
    """
    with database.transaction() as session:
        for code, kind, en, ru in ORGANISATIONS:
            try:
                clients.organisation_by_code(session, code)
            except NotFound:
                clients.create_organisation(
                    session, code=code, kind=kind, name={"en": en, "ru": ru}
                )
        credentials = [
            _client(session, org, name, (id_variable, secret_variable), rotate)
            for org, name, id_variable, secret_variable in DEMO_CLIENTS
        ]
    for tenant in MEMBER_STATES:
        with database.transaction() as session:
            set_tenant(session, tenant)
            agency = _agency(tenant)
            for owner, ref, body in practice_records():
                if owner == tenant:
                    records.upsert_by_ref(session, agency, PRACTICES, ref, body)
            for owner, ref, body in programme_records():
                if owner == tenant:
                    records.upsert_by_ref(session, agency, PROGRAMMES, ref, body)
    lines = statistics_csv().splitlines()
    for tenant in MEMBER_STATES:
        rows = b"\n".join(
            line for i, line in enumerate(lines) if i == 0 or line.startswith(tenant.encode())
        )
        with database.transaction() as session:
            set_tenant(session, tenant)
            report = statistics.run_import(
                session,
                _agency(tenant),
                ImportRequest(rows, True, "create_and_update", True, False),
                database.settings.min_cell,
            )
        if report.status == "ERROR":
            raise RuntimeError(f"demo statistics refused: {report.conflicts}")
    return credentials
