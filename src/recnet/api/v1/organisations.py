"""The organisation registry (public reference data)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from recnet.api.deps import SessionDep
from recnet.schemas.common import Page
from recnet.schemas.organisations import ORGANISATION_CODE, Organisation
from recnet.schemas.vocabularies import OrganisationKind
from recnet.services import organisations

router = APIRouter(prefix="/organisations", tags=["organisations"])


@router.get("", response_model=Page[Organisation])
def list_organisations(
    session: SessionDep,
    kind: Annotated[OrganisationKind | None, Query(description="Only this kind.")] = None,
    code: Annotated[
        str | None, Query(description="Only this code.", pattern=ORGANISATION_CODE)
    ] = None,
) -> Page[Organisation]:
    """The organisations of the network: member states, secretariat, partners, researchers."""
    rows = organisations.list_all(session, kind=kind, code=code)
    return Page[Organisation](items=[Organisation.model_validate(r) for r in rows])
