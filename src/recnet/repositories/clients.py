"""API clients: the lookup of a client with its organisation, shared by auth and services."""

from __future__ import annotations

from sqlmodel import Session, col, select

from recnet.models import ApiClient, Organisation

# The longest client id a client can have (the column's length).
CLIENT_ID_MAX = 64


def find_client(session: Session, client_id: str) -> tuple[ApiClient, Organisation] | None:
    """The client with this id and its organisation, if there is one.

    An id no client can have is not looked up: longer than the column, or holding a NUL, which
    PostgreSQL refuses even to compare (the token endpoint takes ids from strangers).
    """
    if len(client_id) > CLIENT_ID_MAX or "\x00" in client_id:
        return None
    row = session.exec(
        select(ApiClient, Organisation)
        .join(Organisation, col(ApiClient.organisation_id) == col(Organisation.id))
        .where(ApiClient.client_id == client_id)
    ).first()
    return None if row is None else (row[0], row[1])
