"""The organisation registry (public reference data), with validators and a cache rule so that
clients and caches read it again only when it changed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from recnet.api.deps import SessionDep
from recnet.api.http import PUBLIC_REFERENCE, conditional, http_date
from recnet.schemas.common import Page
from recnet.schemas.organisations import ORGANISATION_CODE, Organisation
from recnet.schemas.vocabularies import OrganisationKind
from recnet.services import organisations

router = APIRouter(prefix="/organisations", tags=["organisations"])


@router.get(
    "",
    response_model=Page[Organisation],
    responses={304: {"description": "Not modified"}},
)
def list_organisations(
    request: Request,
    response: Response,
    session: SessionDep,
    kind: Annotated[OrganisationKind | None, Query(description="Only this kind.")] = None,
    code: Annotated[
        str | None, Query(description="Only this code.", pattern=ORGANISATION_CODE)
    ] = None,
) -> Response:
    """The organisations of the network: member states, secretariat, partners, researchers."""
    rows = organisations.list_all(session, kind=kind, code=code)
    page = Page[Organisation](items=[Organisation.model_validate(r) for r in rows])
    headers = {"Cache-Control": PUBLIC_REFERENCE}
    if rows:
        headers["Last-Modified"] = http_date(max(r.created_at for r in rows))
    return conditional(request, response, page, headers=headers)
