"""The organisation registry."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from recnet.models import Organisation
from recnet.schemas.vocabularies import OrganisationKind


def list_all(
    session: Session, *, kind: OrganisationKind | None = None, code: str | None = None
) -> Sequence[Organisation]:
    """Organisations, member states first, then by code."""
    query = select(Organisation)
    if kind is not None:
        query = query.where(Organisation.kind == kind)
    if code is not None:
        query = query.where(Organisation.code == code)
    member_first = col(Organisation.kind) != OrganisationKind.member_state
    return session.exec(query.order_by(member_first, Organisation.code)).all()
