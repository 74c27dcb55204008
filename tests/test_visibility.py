"""The one sharing rule, checked for every role × marking × status × own/foreign tenant, in
Python and as SQL against the real records table (on PostgreSQL under row-level security too)."""

from __future__ import annotations

import itertools

import pytest
from sqlmodel import col, select

from recnet.auth.principal import ANONYMOUS, Principal, Role
from recnet.auth.scopes import Scope
from recnet.auth.visibility import Tlp, may_change, may_read, readable
from recnet.db import Database, set_tenant
from recnet.models import Record
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
