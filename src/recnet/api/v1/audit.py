"""The audit trail: the event log, for the secretariat."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from recnet.api.deps import AdminDep, SessionDep
from recnet.api.http import next_link
from recnet.schemas.common import Page
from recnet.schemas.reference import AuditEvent
from recnet.services import audit, events

router = APIRouter(prefix="/audit", tags=["administration"])


@router.get("", response_model=Page[AuditEvent], responses={401: {}, 403: {}, 422: {}})
def list_audit_events(
    request: Request,
    response: Response,
    principal: AdminDep,
    session: SessionDep,
    after: Annotated[
        int, Query(ge=0, le=events.MAX_SEQ, description="Sequence number to start after.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000, description="At most 500 are returned.")] = 100,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> Page[AuditEvent]:
    """Page through the event log in sequence order (hashes included, to check the chain)."""
    page = audit.page(session, principal, after=after, limit=limit, cursor=cursor)
    if page.next_cursor:
        response.headers["Link"] = next_link(request, page.next_cursor)
    return page
