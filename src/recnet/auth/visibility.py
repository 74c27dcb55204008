"""The one sharing rule: which records a principal may read, and which it may change.

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
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_

from recnet.auth.principal import Principal, Role
from recnet.auth.scopes import Scope


class Tlp(StrEnum):
    clear = "CLEAR"
    green = "GREEN"
    amber = "AMBER"
    amber_strict = "AMBER+STRICT"
    red = "RED"


SHARED_MARKINGS: dict[Role, frozenset[Tlp]] = {
    Role.anonymous: frozenset({Tlp.clear}),
    Role.researcher: frozenset({Tlp.clear}),
    Role.partner: frozenset({Tlp.clear, Tlp.green}),
    Role.secretariat: frozenset({Tlp.clear, Tlp.green, Tlp.amber}),
    Role.member_state: frozenset({Tlp.clear, Tlp.green, Tlp.amber}),
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
    markings = sorted(m.value for m in SHARED_MARKINGS[principal.role])
    shared = and_(status != DRAFT, tlp.in_(markings))
    own = tenant == principal.tenant if principal.tenant is not None else false()
    return or_(own, shared)


def may_change(principal: Principal, *, tenant: str, scope: Scope) -> bool:
    """Only the owning tenant changes its records, and only with the scope for the kind."""
    return principal.tenant is not None and principal.tenant == tenant and principal.has(scope)


__all__ = ["SHARED_MARKINGS", "Tlp", "may_change", "may_read", "readable"]
