"""The one sharing rule: which records a principal may read and change, and whose statistics
it sees exact.

Every read path (list, get, search, export, feed) builds its query with ``readable``; every write
checks ``may_change``. A record the caller may not see or change is answered 404, never 403.

| marking             | readers                                                    |
|---------------------|------------------------------------------------------------|
| CLEAR               | anyone, anonymous included                                 |
| GREEN               | authenticated members of the network: member states,       |
|                     | the secretariat, partners                                  |
| AMBER               | member states and the secretariat                          |
| AMBER+STRICT, RED   | the owning tenant only                                     |

Drafts are read only by their own tenant, whatever their marking.

Statistics are read by everyone, anonymous included, from the cube protected by disclosure
control; exact figures are only for the readers below. Every statistics path (queries, exports,
the change feed) asks ``sees_exact_statistics`` of a cell's REF_AREA, or builds its SQL with
``exact_statistics``.

| reader                  | figures of a REF_AREA                                      |
|-------------------------|------------------------------------------------------------|
| the owning member state | exact, for its own REF_AREA                                |
| the secretariat         | exact, for every REF_AREA (the regional total too)         |
| everyone else           | the protected cube: published values and their             |
|                         | confidentiality status, withheld cells empty               |
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, false, literal_column, or_, true

from recnet.auth.principal import Principal, Role
from recnet.auth.scopes import Scope
from recnet.schemas.vocabularies import TlpMarking

SHARED_MARKINGS: dict[Role, frozenset[TlpMarking]] = {
    Role.anonymous: frozenset({TlpMarking.clear}),
    Role.researcher: frozenset({TlpMarking.clear}),
    Role.partner: frozenset({TlpMarking.clear, TlpMarking.green}),
    Role.secretariat: frozenset({TlpMarking.clear, TlpMarking.green, TlpMarking.amber}),
    Role.member_state: frozenset({TlpMarking.clear, TlpMarking.green, TlpMarking.amber}),
}

DRAFT = "draft"


def may_read(principal: Principal, *, tenant: str, tlp: str, status: str) -> bool:
    if principal.tenant is not None and principal.tenant == tenant:
        return True
    return status != DRAFT and tlp in SHARED_MARKINGS[principal.role]


def readable(
    principal: Principal,
    tenant: Any,
    tlp: Any,
    status: Any,
) -> ColumnElement[bool]:
    """The SQL condition equal to ``may_read`` for rows with these columns."""
    return readable_by(principal.role, principal.tenant, tenant, tlp, status)


def readable_by(
    role: Role, reader_tenant: str | None, tenant: Any, tlp: Any, status: Any
) -> ColumnElement[bool]:
    """``readable`` for any principal of this role and tenant (all it depends on)."""
    # The markings are the code's own constants, never a client's: written into the SQL,
    # not bound, so a kept statement (repositories/records.py) expands no list on every run.
    markings: list[ColumnElement[Any]] = [
        literal_column(f"'{m.value}'") for m in sorted(SHARED_MARKINGS[role])
    ]
    shared = and_(status != DRAFT, tlp.in_(markings))
    own = tenant == reader_tenant if reader_tenant is not None else false()
    return or_(own, shared)


def may_change(principal: Principal, *, tenant: str, scope: Scope) -> bool:
    """Only the owning tenant changes its records, and only with the scope for the kind."""
    return principal.tenant is not None and principal.tenant == tenant and principal.has(scope)


def sees_actor_client(principal: Principal, tenant: str) -> bool:
    """Whether the principal sees which client (not only which organisation) made a change to a
    record of ``tenant``: client ids name an agency's systems, for the secretariat and the
    agency itself."""
    if principal.role is Role.secretariat:
        return True
    return principal.tenant is not None and principal.tenant == tenant


def sees_exact_statistics(principal: Principal, ref_area: str) -> bool:
    """Whether the principal sees the exact figures of cells of this REF_AREA (else the
    protected cube's)."""
    if principal.role is Role.secretariat:
        return True
    return principal.tenant is not None and principal.tenant == ref_area


def exact_statistics(principal: Principal, ref_area: Any) -> ColumnElement[bool]:
    """The SQL condition equal to ``sees_exact_statistics`` for cells with this REF_AREA column."""
    if principal.role is Role.secretariat:
        return true()
    return ref_area == principal.tenant if principal.tenant is not None else false()


__all__ = [
    "readable_by",
    "SHARED_MARKINGS",
    "exact_statistics",
    "may_change",
    "may_read",
    "readable",
    "sees_actor_client",
    "sees_exact_statistics",
]
