"""The one sharing rule, checked for every role × marking × status × own/foreign tenant, in
Python and as SQL against the real records table (on PostgreSQL under row-level security too);
and the statistics rule (who sees exact figures) for every role × own/foreign/regional REF_AREA,
in Python and as SQL against the real cube table."""

from __future__ import annotations

import itertools

import pytest
from sqlmodel import col, select

from recnet.auth.principal import ANONYMOUS, Principal, Role
from recnet.auth.scopes import Scope
from recnet.auth.visibility import (
    exact_statistics,
    may_change,
    may_read,
    readable,
    sees_exact_statistics,
)
from recnet.clock import utcnow
from recnet.db import Database, set_tenant
from recnet.models import CubeCell, Record
from recnet.schemas.statistics import REGION
from recnet.schemas.vocabularies import TlpMarking as Tlp
from tests.conftest import owner_database

TENANTS = ("UZB", "KAZ")
STATUSES = ("draft", "published", "withdrawn")

PRINCIPALS = {
    "anonymous": ANONYMOUS,
    "researcher": Principal(Role.researcher, "c1", "RSRCH"),
    "partner": Principal(Role.partner, "c2", "UNICEF"),
    "secretariat": Principal(Role.secretariat, "c3", "SEC", scopes=frozenset({"admin"})),
    "uzbekistan": Principal(Role.member_state, "c4", "UZB", "UZB", frozenset({"practices:write"})),
}

# The table of DESIGN.md, for published records of another tenant.
EXPECTED_FOREIGN = {
    "anonymous": {"CLEAR"},
    "researcher": {"CLEAR"},
    "partner": {"CLEAR", "GREEN"},
    "secretariat": {"CLEAR", "GREEN", "AMBER"},
    "uzbekistan": {"CLEAR", "GREEN", "AMBER"},
}

# A member state's own figures, another's, and the regional total no state owns.
REF_AREAS = ("UZB", "KAZ", REGION)

# The statistics table of auth/visibility.py: the REF_AREAs whose exact figures each one sees.
EXPECTED_EXACT = {
    "anonymous": set(),
    "researcher": set(),
    "partner": set(),
    "secretariat": {"UZB", "KAZ", REGION},
    "uzbekistan": {"UZB"},
}


@pytest.mark.parametrize("name", sorted(PRINCIPALS))
def test_markings_readable_on_another_tenants_published_records(name: str) -> None:
    principal = PRINCIPALS[name]
    readable_markings = {
        t.value for t in Tlp if may_read(principal, tenant="KAZ", tlp=t.value, status="published")
    }
    assert readable_markings == EXPECTED_FOREIGN[name]


def test_own_tenant_reads_everything_it_owns() -> None:
    uzb = PRINCIPALS["uzbekistan"]
    for tlp, status in itertools.product(Tlp, STATUSES):
        assert may_read(uzb, tenant="UZB", tlp=tlp.value, status=status)


@pytest.mark.parametrize("name", sorted(PRINCIPALS))
def test_drafts_are_read_only_by_their_own_tenant(name: str) -> None:
    assert not may_read(PRINCIPALS[name], tenant="KAZ", tlp="CLEAR", status="draft")


def test_only_the_owning_tenant_with_the_scope_may_change() -> None:
    uzb = PRINCIPALS["uzbekistan"]
    assert may_change(uzb, tenant="UZB", scope=Scope.practices_write)
    assert not may_change(uzb, tenant="KAZ", scope=Scope.practices_write)
    assert not may_change(uzb, tenant="UZB", scope=Scope.programmes_write)
    for name in ("anonymous", "researcher", "partner", "secretariat"):
        assert not may_change(PRINCIPALS[name], tenant="UZB", scope=Scope.practices_write)


def test_sql_rule_selects_exactly_what_the_python_rule_allows(
    database: Database, db_url: str
) -> None:
    with owner_database(db_url).transaction() as session:
        for tenant, tlp, status in itertools.product(TENANTS, Tlp, STATUSES):
            session.add(
                Record(
                    kind="practice",
                    tenant=tenant,
                    tlp=tlp.value,
                    status=status,
                    source_ref=f"{tenant}-{tlp.value}-{status}",
                    data={},
                )
            )
    for name, principal in PRINCIPALS.items():
        with database.transaction() as session:
            set_tenant(session, principal.tenant)
            query = select(Record.source_ref).where(
                readable(principal, col(Record.tenant), col(Record.tlp), col(Record.status))
            )
            selected = set(session.exec(query))
        expected = {
            f"{tenant}-{tlp.value}-{status}"
            for tenant, tlp, status in itertools.product(TENANTS, Tlp, STATUSES)
            if may_read(principal, tenant=tenant, tlp=tlp.value, status=status)
        }
        assert selected == expected, name


@pytest.mark.parametrize("name", sorted(PRINCIPALS))
def test_exact_statistics_only_for_the_owning_state_and_the_secretariat(name: str) -> None:
    exact = {area for area in REF_AREAS if sees_exact_statistics(PRINCIPALS[name], area)}
    assert exact == EXPECTED_EXACT[name]


def test_sql_statistics_rule_selects_exactly_what_the_python_rule_allows(
    database: Database, db_url: str
) -> None:
    with owner_database(db_url).transaction() as session:
        for ref_area in REF_AREAS:
            session.add(
                CubeCell(
                    ref_area=ref_area,
                    indicator="RETURNED",
                    sex="_T",
                    age="_T",
                    counterpart_area="_T",
                    time_period="2024",
                    frequency="A",
                    derived=ref_area == REGION,
                    exact_value=3,
                    published_value=None,
                    conf_status="C",
                    updated_at=utcnow(),
                )
            )
    for name, principal in PRINCIPALS.items():
        with database.transaction() as session:
            set_tenant(session, principal.tenant)
            query = select(CubeCell.ref_area).where(
                exact_statistics(principal, col(CubeCell.ref_area))
            )
            selected = set(session.exec(query))
        expected = {area for area in REF_AREAS if sees_exact_statistics(principal, area)}
        assert selected == expected, name
