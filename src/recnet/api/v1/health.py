"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from recnet import __version__
from recnet.api.deps import DatabaseDep
from recnet.errors import ServiceUnavailable

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class Readiness(BaseModel):
    status: Literal["ready"]
    revision: str | None


@router.get("/health", response_model=Health)
async def get_health() -> Health:
    """The process is up (no database work)."""
    return Health(status="ok", version=__version__)


@router.get("/ready", response_model=Readiness, responses={503: {"description": "Not ready"}})
def get_readiness(database: DatabaseDep) -> Readiness:
    """The database is reachable and at the latest migration."""
    current = database.current_revision()
    if current != database.head_revision:
        raise ServiceUnavailable(
            f"The database is at migration {current or 'none'}, "
            f"expected {database.head_revision}; run `recnet migrate`.",
            headers={"Retry-After": str(database.settings.retry_after_seconds)},
        )
    return Readiness(status="ready", revision=current)
