"""The performance suite's dataset, written through recnet's own service layer (issue 8).

Run by ``bench/suite.py`` in the environment of the code snapshot under test (``PYTHONPATH``
names the snapshot), against a database that ``recnet migrate`` has just created:

    python bench/dataset.py URL [--practices 2000] [--programmes 1000] [--updates 7000]
                                [--observations 200000] [--seed 8]
    python bench/dataset.py URL --clients-only

What it writes, deterministically (one seeded ``random.Random``; only timestamps and ids vary):

- good practices and programmes spread over the five tenants, in English and Russian, a third of
  them also in a national language (kk, ky, tg, tk, uz); every TLP marking and both statuses,
  most of them published CLEAR so anonymous lists have plenty; varied working groups,
  approaches, target groups, evidence levels; multi-sentence texts for search;
- ``--updates`` merge-patch updates of those records (new summaries), so the event log holds
  records + updates events for the change feed;
- ``--observations`` statistics observations (SEX, AGE and COUNTERPART_AREA parts, monthly over
  2015-2024) imported per tenant with ``run_import``, which validates them, appends the
  ``statistics_imported`` event and rebuilds the published cube;
- a partner organisation (UNICEF) with a ``feeds:read`` client, and a UZB client with
  ``statistics:write``; their credentials are printed as JSON on stdout.

Nothing is written to recnet's tables by hand: every change goes through the services, as the
API would make it, with the tenant set for PostgreSQL row-level security.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import random
import sys
import time
from typing import Any

from recnet.auth.principal import Principal, Role
from recnet.auth.scopes import ALLOWED, Scope
from recnet.config import Settings
from recnet.db import Database, set_tenant
from recnet.errors import NotFound
from recnet.schemas.vocabularies import OrganisationKind
from recnet.services import clients, records, statistics
from recnet.services.practices import PRACTICES
from recnet.services.programmes import PROGRAMMES
from recnet.services.statistics import ImportRequest

TENANTS = ("KAZ", "KGZ", "TJK", "TKM", "UZB")
NATIONAL_LANGUAGE = {"KAZ": "kk", "KGZ": "ky", "TJK": "tg", "TKM": "tk", "UZB": "uz"}
WORKING_GROUPS = (
    "accountability_legal",
    "psychosocial_health_education",
    "countering_narratives",
    "civil_society",
)
APPROACHES = (
    "civil_documentation", "legal_aid_amnesty", "medical", "psychosocial", "education",
    "mobile_classes", "vocational_training", "employment", "preferential_lending",
    "family_reunification", "community_mahalla", "multi_agency", "risk_assessment",
)  # fmt: skip
TARGET_GROUPS = (
    "women", "girls", "boys", "children_0_4", "children_5_11", "children_12_17", "adolescents",
    "men", "families", "host_communities", "practitioners",
)  # fmt: skip
EVIDENCE_LEVELS = (
    "not_evaluated", "monitoring", "internal_evaluation", "external_evaluation", "peer_reviewed",
)  # fmt: skip
SCOPES = ("local", "subnational", "national", "central_asia", "international")
ACTIVITY_STATUSES = ("pipeline", "implementation", "finalisation", "closed", "suspended")
# Markings and statuses by weight: mostly published CLEAR, every combination present.
TLP_WEIGHTS = (("CLEAR", 70), ("GREEN", 12), ("AMBER", 8), ("AMBER+STRICT", 5), ("RED", 5))
PUBLISHED_SHARE = 0.85
REGIONS = {
    "KAZ": ("KZ-ALA", "KZ-AST", "KZ-SHY", "KZ-KAR"),
    "KGZ": ("KG-GB", "KG-O", "KG-J", "KG-C"),
    "TJK": ("TJ-DU", "TJ-SU", "TJ-KT", "TJ-GB"),
    "TKM": ("TM-S", "TM-A", "TM-L", "TM-M"),
    "UZB": ("UZ-TK", "UZ-SA", "UZ-FA", "UZ-NG"),
}

# Sentences the texts are built from; the suite's search words occur in them with varied
# frequency (some in most records, some in few).
EN_SUBJECTS = (
    "Returned women and their children", "Families back from the conflict zones",
    "Adolescents who spent years in the camps", "Young men released after screening",
    "Orphaned children placed with relatives", "Mothers raising children alone",
    "Host communities receiving returnees", "Teachers and social workers",
)  # fmt: skip
EN_ACTIONS = (
    "receive psychosocial support from trained psychologists",
    "attend mobile classes until they can join an ordinary school",
    "are accompanied by the mahalla committee during the first year",
    "obtain identity documents and birth certificates within weeks",
    "take part in vocational training in sewing, cooking and repair trades",
    "apply for preferential lending to start a small business",
    "benefit from legal aid and, for many women, an amnesty",
    "are reunited with grandparents and the wider family",
    "meet religious scholars who counter extremist narratives",
    "are assessed for risks and needs by a multi-agency team",
    "receive medical care, vaccinations and nutrition support",
    "find employment with local companies that the programme supports",
)  # fmt: skip
EN_CLOSINGS = (
    "Monitoring shows that most participants remain in education or work after two years.",
    "The approach was adapted from a pilot in one district and is now national.",
    "Local leaders report that stigma declined once neighbours were involved early.",
    "Case managers follow each family with a written reintegration plan.",
    "Costs are shared between the national budget and international partners.",
    "An external evaluation recommended more support for adolescents.",
    "Rehabilitation centres coordinate with schools, clinics and employers.",
    "Lessons from this work were presented to the Council's working group.",
)  # fmt: skip
RU_SUBJECTS = (
    "Вернувшиеся женщины и их дети", "Семьи, вернувшиеся из зон конфликтов",
    "Подростки, проведшие годы в лагерях", "Дети, оставшиеся без родителей",
    "Принимающие сообщества", "Учителя и социальные работники",
)  # fmt: skip
RU_ACTIONS = (
    "получают психосоциальную поддержку от подготовленных психологов",
    "посещают мобильные классы до перехода в обычную школу",
    "сопровождаются махаллинским комитетом в течение первого года",
    "получают документы и свидетельства о рождении в течение нескольких недель",
    "проходят профессиональное обучение швейному делу и ремеслам",
    "получают льготные кредиты для открытия малого бизнеса",
    "получают правовую помощь, а многие женщины — амнистию",
    "воссоединяются с бабушками, дедушками и родственниками",
    "получают медицинскую помощь и вакцинацию",
)  # fmt: skip
RU_CLOSINGS = (
    "Мониторинг показывает, что большинство участников продолжают учебу или работу.",
    "Подход распространен с пилотного района на всю страну.",
    "Местные лидеры отмечают снижение стигматизации.",
    "Каждая семья получает письменный план реинтеграции.",
)  # fmt: skip
NATIONAL_SENTENCES = {
    "kk": ("Оралған әйелдер мен балаларға психологиялық көмек көрсетіледі.",
           "Махалла мен отбасылар бірлесіп жұмыс істейді."),
    "ky": ("Кайтып келген аялдар жана балдар психологиялык жардам алышат.",
           "Жергиликтүү коомчулук үй-бүлөлөрдү колдойт."),
    "tg": ("Занону кӯдакони баргашта кӯмаки равонӣ мегиранд.",
           "Маҳалла ба оилаҳо дастгирӣ мерасонад."),
    "tk": ("Gaýdyp gelen aýallar we çagalar psihologiki goldaw alýarlar.",
           "Ýerli jemgyýet maşgalalary goldaýar."),
    "uz": ("Qaytgan ayollar va bolalar psixologik yordam oladi.",
           "Mahalla oilalarni qo'llab-quvvatlaydi."),
}  # fmt: skip
TITLE_TOPICS = (
    ("Mobile classes", "Мобильные классы"), ("Mahalla accompaniment", "Сопровождение махалли"),
    ("Vocational training", "Профессиональное обучение"), ("Legal aid", "Правовая помощь"),
    ("Family reunification", "Воссоединение семей"),
    ("Psychosocial care", "Психосоциальная помощь"),
    ("Preferential lending", "Льготное кредитование"), ("Civil documents", "Гражданские документы"),
    ("Counter-narratives", "Контрнарративы"), ("Risk assessment", "Оценка рисков"),
)  # fmt: skip
TITLE_GROUPS = (
    ("returned children", "вернувшихся детей"), ("returned women", "вернувшихся женщин"),
    ("adolescents", "подростков"), ("families", "семей"), ("host communities", "сообществ"),
)  # fmt: skip

# Statistics: parts only (totals and roll-ups are derived by recnet), monthly, ten years.
INDICATORS = (
    "RETURNED", "IN_REHABILITATION", "DOCUMENTS_ISSUED", "ENROLLED_EDUCATION",
    "IN_VOCATIONAL_TRAINING", "EMPLOYED", "REUNITED_FAMILY", "PROSECUTED", "AMNESTIED",
)  # fmt: skip
SEXES = ("F", "M")
AGES = ("Y0T4", "Y5T11", "Y12T17", "Y18T59", "Y_GE60")
COUNTRIES = ("SYR", "IRQ", "AFG", "TUR", "_O")
YEARS = tuple(range(2015, 2025))
MONTHS = tuple(f"{y}-{m:02d}" for y in YEARS for m in range(1, 13))
OBSERVATION_HEADER = (
    "REF_AREA", "INDICATOR", "SEX", "AGE", "COUNTERPART_AREA", "TIME_PERIOD", "OBS_VALUE",
)  # fmt: skip

BATCH = 200  # records per transaction


def agency(tenant: str) -> Principal:
    return Principal(
        role=Role.member_state,
        client_id=f"bench-{tenant.lower()}",
        organisation=tenant,
        tenant=tenant,
        scopes=frozenset(s.value for s in ALLOWED[OrganisationKind.member_state]),
    )


def paragraph(rng: random.Random, sentences: int) -> tuple[str, str]:
    """An English and a Russian paragraph of several sentences."""
    en = " ".join(f"{rng.choice(EN_SUBJECTS)} {rng.choice(EN_ACTIONS)}." for _ in range(sentences))
    ru = " ".join(f"{rng.choice(RU_SUBJECTS)} {rng.choice(RU_ACTIONS)}." for _ in range(sentences))
    return f"{en} {rng.choice(EN_CLOSINGS)}", f"{ru} {rng.choice(RU_CLOSINGS)}"


def multilingual(rng: random.Random, tenant: str, national: bool, sentences: int) -> dict[str, str]:
    en, ru = paragraph(rng, sentences)
    text = {"en": en, "ru": ru}
    if national:
        text[NATIONAL_LANGUAGE[tenant]] = " ".join(NATIONAL_SENTENCES[NATIONAL_LANGUAGE[tenant]])
    return text


def marking(rng: random.Random) -> tuple[str, str]:
    tlp = rng.choices([t for t, _ in TLP_WEIGHTS], weights=[w for _, w in TLP_WEIGHTS])[0]
    status = "published" if rng.random() < PUBLISHED_SHARE else "draft"
    return tlp, status


def title(rng: random.Random, tenant: str, national: bool, number: int) -> dict[str, str]:
    topic, group = rng.choice(TITLE_TOPICS), rng.choice(TITLE_GROUPS)
    text = {"en": f"{topic[0]} for {group[0]} ({number})", "ru": f"{topic[1]} для {group[1]}"}
    if national:
        text[NATIONAL_LANGUAGE[tenant]] = f"{topic[0]} ({NATIONAL_LANGUAGE[tenant]})"
    return text


def practice_body(rng: random.Random, tenant: str, number: int) -> dict[str, Any]:
    national = rng.random() < 0.33
    tlp, status = marking(rng)
    start_year = rng.randint(2016, 2024)
    body: dict[str, Any] = {
        "source_ref": f"GP-{tenant}-{number:05d}",
        "title": title(rng, tenant, national, number),
        "summary": multilingual(rng, tenant, national, 1),
        "description": multilingual(rng, tenant, national, rng.randint(3, 7)),
        "working_group": rng.choice(WORKING_GROUPS),
        "approaches": rng.sample(APPROACHES, rng.randint(1, 4)),
        "target_groups": rng.sample(TARGET_GROUPS, rng.randint(0, 4)),
        "geographic_scope": rng.choice(SCOPES),
        "regions": rng.sample(REGIONS[tenant], rng.randint(0, 2)),
        "start_date": f"{start_year}-{rng.randint(1, 12):02d}-01",
        "evidence_level": rng.choice(EVIDENCE_LEVELS),
        "organisations": [
            {
                "name": {"en": "Ministry of Education", "ru": "Министерство образования"},
                "role": "implementing",
            },
        ][: rng.randint(0, 1)],  # fmt: skip
        "documents": [
            {
                "url": f"https://example.org/{tenant.lower()}/report-{number}.pdf",
                "title": {"en": "Report", "ru": "Отчёт"},
                "language": "en",
            },
        ][: rng.randint(0, 1)],  # fmt: skip
        "tlp": tlp,
        "status": status,
    }
    if rng.random() < 0.4:
        body["lessons_learned"] = multilingual(rng, tenant, False, 2)
    return body


def programme_body(rng: random.Random, tenant: str, number: int) -> dict[str, Any]:
    national = rng.random() < 0.33
    tlp, status = marking(rng)
    year = rng.randint(2015, 2023)
    return {
        "source_ref": f"PR-{tenant}-{number:05d}",
        "title": title(rng, tenant, national, number),
        "summary": multilingual(rng, tenant, national, 1),
        "description": multilingual(rng, tenant, national, rng.randint(3, 6)),
        "lead_agency": {"en": "National commission", "ru": "Национальная комиссия"},
        "activity_status": rng.choice(ACTIVITY_STATUSES),
        "dates": [{"type": "actual_start", "date": f"{year}-01-15"}],
        "components": rng.sample(APPROACHES, rng.randint(1, 4)),
        "budgets": [
            {
                "amount": f"{rng.randint(10, 5000) * 1000}.00",
                "currency": "USD",
                "period_start": f"{year}-01-01",
                "period_end": f"{year}-12-31",
            },
        ],  # fmt: skip
        "coverage": rng.sample(REGIONS[tenant], rng.randint(0, 3)),
        "tlp": tlp,
        "status": status,
    }


def write_records(database: Database, rng: random.Random, practices: int, programmes: int,
                  updates: int) -> int:  # fmt: skip
    """Create the records, then patch some of them; returns the number of events written."""
    plan = [(PRACTICES, n) for n in range(practices)] + [(PROGRAMMES, n) for n in range(programmes)]
    rng.shuffle(plan)
    made: list[tuple[Any, str, Any]] = []  # (kind, tenant, id)
    events = 0
    for start in range(0, len(plan), BATCH):
        with database.transaction() as session:
            for kind, number in plan[start : start + BATCH]:
                tenant = TENANTS[number % len(TENANTS)]
                set_tenant(session, tenant)
                make = practice_body if kind is PRACTICES else programme_body
                record = records.create(session, agency(tenant), kind, make(rng, tenant, number))
                made.append((kind, tenant, record.id))
                events += 1
    for start in range(0, updates, BATCH):
        with database.transaction() as session:
            for number in range(start, min(start + BATCH, updates)):
                kind, tenant, record_id = rng.choice(made)
                set_tenant(session, tenant)
                patch = {"summary": multilingual(rng, tenant, False, 1)}
                patch["summary"]["en"] += f" (update {number})"
                records.patch(session, agency(tenant), kind, record_id, patch, records.ANY_VERSION)
                events += 1
    return events


def observations_csv(rng: random.Random, tenant: str, rows: int, offset: int) -> bytes:
    """``rows`` observations of one tenant; the indicators start at ``offset`` so that all nine
    are covered across the tenants."""
    indicators = INDICATORS[offset:] + INDICATORS[:offset]
    keys = itertools.product(indicators, SEXES, AGES, COUNTRIES, MONTHS)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(OBSERVATION_HEADER)
    for indicator, sex, age, country, period in itertools.islice(keys, rows):
        # Mostly small counts: disclosure control has cells to withhold.
        value = int(rng.expovariate(1 / 12))
        writer.writerow((tenant, indicator, sex, age, country, period, value))
    return buffer.getvalue().encode()


def write_statistics(database: Database, rng: random.Random, total: int) -> int:
    per_tenant = total // len(TENANTS)
    min_cell = database.settings.min_cell
    for index, tenant in enumerate(TENANTS):
        body = observations_csv(rng, tenant, per_tenant, index * 2)
        request = ImportRequest(body, True, "create_and_update", True, False)
        with database.transaction() as session:
            set_tenant(session, tenant)
            report = statistics.run_import(session, agency(tenant), request, min_cell)
        if report.status == "ERROR" or report.counts.imported != per_tenant:
            raise RuntimeError(f"statistics import of {tenant} failed: {report.model_dump()}")
    return per_tenant * len(TENANTS)


def make_clients(database: Database) -> dict[str, dict[str, str]]:
    with database.transaction() as session:
        try:
            clients.organisation_by_code(session, "UNICEF")
        except NotFound:
            clients.create_organisation(
                session, code="UNICEF", kind=OrganisationKind.partner, name={"en": "UNICEF"}
            )
        partner = clients.create_client(
            session, organisation_code="UNICEF", name="bench partner", scopes=[Scope.feeds_read]
        )
        uzb = clients.create_client(
            session, organisation_code="UZB", name="bench agency", scopes=[Scope.statistics_write]
        )
    return {
        name: {"client_id": issued.client.client_id, "client_secret": issued.client_secret}
        for name, issued in (("partner", partner), ("agency", uzb))
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--practices", type=int, default=2000)
    parser.add_argument("--programmes", type=int, default=1000)
    parser.add_argument("--updates", type=int, default=7000)
    parser.add_argument("--observations", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--clients-only", action="store_true")
    args = parser.parse_args(argv)
    database = Database.from_settings(Settings(database_url=args.url))
    rng = random.Random(args.seed)
    out: dict[str, Any] = {"clients": make_clients(database)}
    if not args.clients_only:
        started = time.monotonic()
        out["record_events"] = write_records(
            database, rng, args.practices, args.programmes, args.updates
        )
        out["records_seconds"] = round(time.monotonic() - started, 1)
        started = time.monotonic()
        out["observations"] = write_statistics(database, rng, args.observations)
        out["statistics_seconds"] = round(time.monotonic() - started, 1)
    database.dispose()
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
