"""The audit trail, read by the secretariat."""

from __future__ import annotations

from sqlmodel import Session

from recnet.auth.principal import Principal
from recnet.auth.visibility import may_read
from recnet.schemas.common import Page
from recnet.schemas.reference import AuditEvent
from recnet.services import events

MAX_LIMIT = 500


def page(
    session: Session, principal: Principal, *, after: int, limit: int, cursor: str | None
) -> Page[AuditEvent]:
    if cursor is not None:
        after = events.parse_seq(cursor)
    limit = min(limit, MAX_LIMIT)
    rows = events.page(session, after=after, limit=limit + 1)
    items = [
        AuditEvent(
            **e.model_dump(exclude={"payload"}),
            payload=e.payload
            if e.tenant is None
            # The record as it was at this event: a draft's payload only for its own tenant.
            or may_read(
                principal, tenant=e.tenant, tlp=e.tlp or "RED", status=e.status or "published"
            )
            else None,
        )
        for e in rows[:limit]
    ]
    next_cursor = str(rows[limit - 1].seq) if len(rows) > limit else None
    return Page[AuditEvent](items=items, next_cursor=next_cursor)
