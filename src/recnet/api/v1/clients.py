"""API clients of the network (secretariat administration)."""

from __future__ import annotations

from fastapi import APIRouter

from recnet.api.deps import AdminDep, SessionDep
from recnet.schemas.auth import Client
from recnet.schemas.common import Page
from recnet.services import clients

router = APIRouter(prefix="/clients", tags=["administration"])


@router.get("", response_model=Page[Client], responses={401: {}, 403: {}})
def list_clients(principal: AdminDep, session: SessionDep) -> Page[Client]:
    """Every API client with its organisation and scopes (never its secret)."""
    return Page[Client](
        items=[
            Client(
                client_id=c.client_id,
                organisation=o.code,
                name=c.name,
                scopes=c.scopes,
                created_at=c.created_at,
                secret_rotated_at=c.secret_rotated_at,
                disabled=c.disabled_at is not None,
            )
            for c, o in clients.list_clients(session)
        ]
    )
