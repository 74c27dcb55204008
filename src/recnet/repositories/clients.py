"""API clients: the lookup of a client with its organisation, shared by auth and services."""

from __future__ import annotations

from sqlmodel import Session, col, select

from recnet.models import ApiClient, Organisation


def find_client(session: Session, client_id: str) -> tuple[ApiClient, Organisation] | None:
    """The client with this id and its organisation, if there is one."""
    row = session.exec(
        select(ApiClient, Organisation)
        .join(Organisation, col(ApiClient.organisation_id) == col(Organisation.id))
        .where(ApiClient.client_id == client_id)
    ).first()
    return None if row is None else (row[0], row[1])
