"""A sample network for trying recnet: organisations, clients, practices, programmes, statistics.

The texts draw on the documents the Council was founded on (shared/seeds): Uzbekistan's "Mehr"
humanitarian operations, mahalla-based reintegration, mobile classes, amnesty for women, vocational
training and preferential lending. The one figure those documents state — more than 530 people
returned to Uzbekistan since 2019, mostly women and children — is quoted as such in the texts.
Every number in the statistics is illustrative: each observation says so in OBS_STATUS (E,
estimated) and COMMENT, and none is presented as official.

Loading is idempotent: records are upserted by their reference, statistics re-imported unchanged,
and the demo clients get fresh secrets, printed so the walkthroughs work at once.
"""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from recnet.auth.principal import Principal, Role
from recnet.auth.scopes import ALLOWED, Scope
from recnet.db import Database, set_tenant
from recnet.errors import NotFound
from recnet.schemas.vocabularies import OrganisationKind
from recnet.services import clients, records, statistics
from recnet.services.practices import PRACTICES
from recnet.services.programmes import PROGRAMMES
from recnet.services.statistics import ImportRequest

ILLUSTRATIVE = "Illustrative figure for demonstration, not an official statistic"
SEED_NOTE = {
    "en": "Sample record for demonstration, drawn from public reports of the Council's meetings.",
    "ru": "Демонстрационная запись по открытым материалам заседаний Совета.",
}

ORGANISATIONS = [
    ("SEC", OrganisationKind.secretariat, "Secretariat of the Council (UNOCT with ISRS)",
     "Секретариат Совета (УКТ ООН и ИСМИ)"),
    ("UNICEF", OrganisationKind.partner, "UNICEF", "ЮНИСЕФ"),
    ("UNODC", OrganisationKind.partner, "UNODC", "УНП ООН"),
]  # fmt: skip


def _practice(ref: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    body: dict[str, Any] = {
        "geographic_scope": "national",
        "evidence_level": "monitoring",
        "status": "published",
    }
    body.update(fields)
    body["lessons_learned"] = SEED_NOTE
    return ref, body


PRACTICE_RECORDS = [
    _practice(
        "demo-mahalla-reintegration",
        title={
            "en": "Mahalla-based reintegration of returned families",
            "ru": "Реинтеграция вернувшихся семей с опорой на махаллю",
        },
        summary={
            "en": "Neighbourhood communities (mahallas) accompany returnees, so they adapt faster "
            "and reunite with their families.",
            "ru": "Местные сообщества (махалли) сопровождают вернувшихся, помогая им быстрее "
            "адаптироваться и воссоединиться с семьями.",
        },
        description={
            "en": "Reports to the Council describe the mahalla as the place where isolation is "
            "reduced: local leaders, social workers and families share the work of bringing "
            "returnees back into ordinary life.",
            "ru": "В докладах Совету махалля описывается как место, где преодолевается "
            "изоляция: местные лидеры, социальные работники и семьи вместе помогают "
            "вернувшимся вернуться к обычной жизни.",
        },
        working_group="civil_society",
        approaches=["community_mahalla", "family_reunification", "psychosocial"],
        target_groups=["families", "women", "host_communities"],
        geographic_scope="local",
        tlp="CLEAR",
    ),
    _practice(
        "demo-mobile-classes",
        title={
            "en": "Mobile classes for returned children",
            "ru": "Мобильные классы для вернувшихся детей",
        },
        summary={
            "en": "Schooling continues during rehabilitation: teachers come to the children.",
            "ru": "Обучение продолжается во время реабилитации: учителя приходят к детям.",
        },
        description={
            "en": "Mobile classes made a full educational process possible even while children "
            "were in rehabilitation, so that none lost further school years.",
            "ru": "Мобильные классы позволили организовать полноценный учебный процесс даже "
            "во время реабилитации, чтобы дети не теряли новых учебных лет.",
        },
        working_group="psychosocial_health_education",
        approaches=["mobile_classes", "education"],
        target_groups=["children_5_11", "children_12_17", "girls", "boys"],
        tlp="CLEAR",
    ),
    _practice(
        "demo-amnesty-women",
        title={"en": "Amnesty for returned women", "ru": "Амнистия для вернувшихся женщин"},
        summary={
            "en": "Legal aid and amnesty open the way back for women returned with their children.",
            "ru": "Правовая помощь и амнистия открывают путь назад женщинам, вернувшимся с детьми.",
        },
        description={
            "en": "Alongside document processing, an amnesty for women lets them rebuild civil "
            "status and family life; medical, educational and labour support follows.",
            "ru": "Наряду с оформлением документов амнистия для женщин позволяет восстановить "
            "гражданский статус и семейную жизнь; затем следует медицинская, образовательная "
            "и трудовая поддержка.",
        },
        working_group="accountability_legal",
        approaches=["legal_aid_amnesty", "civil_documentation"],
        target_groups=["women"],
        tlp="GREEN",
    ),
    _practice(
        "demo-vocational-lending",
        title={
            "en": "Vocational training and preferential lending",
            "ru": "Профессиональное обучение и льготное кредитование",
        },
        summary={
            "en": "Economic opportunities for returnees through training and affordable credit.",
            "ru": "Экономические возможности для вернувшихся: обучение и доступный кредит.",
        },
        description={
            "en": "Experts called for expanding economic opportunities through preferential "
            "lending and vocational training, and for infrastructure in the regions where "
            "returnees live.",
            "ru": "Эксперты призвали расширять экономические возможности за счёт льготного "
            "кредитования и профессионального обучения, а также развивать инфраструктуру в "
            "регионах проживания вернувшихся.",
        },
        working_group="psychosocial_health_education",
        approaches=["vocational_training", "preferential_lending", "employment"],
        target_groups=["women", "men", "adolescents"],
        evidence_level="not_evaluated",
        tlp="AMBER",
    ),
]

PROGRAMME_RECORDS = [
    (
        "demo-mehr",
        {
            "title": {
                "en": "\u201cMehr\u201d humanitarian operations",
                "ru": "Гуманитарные операции \u00abМехр\u00bb",
            },
            "summary": {
                "en": "Since 2019, more than 530 people, mostly women and children, have been "
                "returned to Uzbekistan (as reported to the Council).",
                "ru": "С 2019 года в Узбекистан возвращены более 530 человек, в основном женщины "
                "и дети (по данным, представленным Совету).",
            },
            "description": {
                "en": "A series of humanitarian operations repatriating citizens from "
                "armed-conflict zones, with document processing, amnesty for women, and social, "
                "medical, educational and labour support afterwards.",
                "ru": "Серия гуманитарных операций по репатриации граждан из зон вооружённых "
                "конфликтов, с оформлением документов, амнистией для женщин и последующей "
                "социальной, медицинской, образовательной и трудовой поддержкой.",
            },
            "lead_agency": {"en": "Government of Uzbekistan", "ru": "Правительство Узбекистана"},
            "activity_status": "implementation",
            "components": [
                "family_reunification",
                "civil_documentation",
                "legal_aid_amnesty",
                "medical",
                "psychosocial",
                "education",
                "mobile_classes",
            ],  # fmt: skip
            "legal_basis": SEED_NOTE,
            "tlp": "CLEAR",
            "status": "published",
        },
    ),
]


def statistics_csv() -> bytes:
    """Illustrative statistics for Uzbekistan and Kazakhstan, 2019-2023, each row labelled."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["REF_AREA", "INDICATOR", "SEX", "AGE", "COUNTERPART_AREA", "TIME_PERIOD",
                     "OBS_VALUE", "OBS_STATUS", "COMMENT"])  # fmt: skip
    bands = {"Y0T4": 9, "Y5T11": 14, "Y12T17": 6, "Y18T59": 20, "Y_GE60": 1}
    for state, scale in (("UZB", 3), ("KAZ", 2)):
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


@dataclass(frozen=True)
class DemoCredentials:
    role: str
    organisation: str
    client_id: str
    client_secret: str
    scopes: list[str]


def _agency(tenant: str) -> Principal:
    return Principal(
        role=Role.member_state,
        client_id=f"demo-loader-{tenant.lower()}",
        organisation=tenant,
        tenant=tenant,
        scopes=frozenset(s.value for s in ALLOWED[OrganisationKind.member_state]),
    )


def _client(session: Session, organisation: str, name: str, scopes: list[Scope]) -> DemoCredentials:
    """The demo client of this name, made once; its secret is rotated so it can be printed."""
    existing = [
        c for c, o in clients.list_clients(session) if o.code == organisation and c.name == name
    ]
    issued = (
        clients.rotate_secret(session, existing[0].client_id)
        if existing
        else clients.create_client(
            session, organisation_code=organisation, name=name, scopes=scopes
        )
    )
    return DemoCredentials(
        role=issued.organisation.kind,
        organisation=organisation,
        client_id=issued.client.client_id,
        client_secret=issued.client_secret,
        scopes=list(issued.client.scopes),
    )


def load(database: Database) -> list[DemoCredentials]:
    """Load (or refresh) the sample network; returns the demo clients' credentials."""
    with database.transaction() as session:
        for code, kind, en, ru in ORGANISATIONS:
            try:
                clients.organisation_by_code(session, code)
            except NotFound:
                clients.create_organisation(
                    session, code=code, kind=kind, name={"en": en, "ru": ru}
                )
        credentials = [
            _client(
                session, "UZB", "Demo: Uzbekistan data office",
                sorted(ALLOWED[OrganisationKind.member_state]),
            ),
            _client(
                session, "UNICEF", "Demo: UNICEF data office",
                sorted(ALLOWED[OrganisationKind.partner]),
            ),
        ]  # fmt: skip
    with database.transaction() as session:
        set_tenant(session, "UZB")
        uzbekistan = _agency("UZB")
        for ref, body in PRACTICE_RECORDS:
            records.upsert_by_ref(session, uzbekistan, PRACTICES, ref, body)
        for ref, body in PROGRAMME_RECORDS:
            records.upsert_by_ref(session, uzbekistan, PROGRAMMES, ref, body)
    lines = statistics_csv().splitlines()
    for tenant in ("UZB", "KAZ"):
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
