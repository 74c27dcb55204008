"""The SDMX structure queries: ``/v1/sdmx/{resource}[/{agencyID}[/{resourceID}[/{version}
[/{itemID}]]]]`` with ``references`` and ``detail``, SDMX-ML 2.1 by default, SDMX-JSON 1.0.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query, Request, Response

from recnet.api.deps import PrincipalDep, SessionDep
from recnet.api.v1.sdmx.common import (
    SDMX_JSON,
    SDMX_ML,
    STRUCTURE_OFFERS,
    structure_response,
)
from recnet.api.v1.sdmx_negotiation import negotiate
from recnet.auth.principal import Principal
from recnet.schemas.statistics import DATAFLOW_ID
from recnet.services import sdmx_data, sdmx_structures

router = APIRouter()

Segment = Annotated[str, Path(max_length=500, pattern=r"^[A-Za-z0-9_@$\-.+]+$")]
DetailQuery = Annotated[
    str,
    Query(
        max_length=30,
        description="full, allstubs, referencestubs, allcompletestubs, referencecompletestubs "
        "or referencepartial.",
    ),
]
ReferencesQuery = Annotated[
    str,
    Query(
        max_length=30,
        description="none, parents, parentsandsiblings, children, descendants, all, or a "
        "structure resource (codelist, conceptscheme ...).",
    ),
]
_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {"content": {SDMX_ML.media_type: {}, SDMX_JSON.media_type: {}}},
    304: {"description": "Not modified"},
    404: {"description": "No results found"},
    406: {"description": "Not acceptable"},
    501: {"description": "Not implemented"},
}


def _structure(
    request: Request,
    response: Response,
    principal: Principal,
    session: Any,
    resource: str,
    agency: str = "all",
    resource_id: str = "all",
    version: str = "latest",
    item: str = "all",
    references: str = "none",
    detail: str = "full",
) -> Response:
    offer = negotiate(request.headers.get("accept"), STRUCTURE_OFFERS, SDMX_ML)
    if resource in sdmx_structures.CONSTRAINT_RESOURCES:
        # What data exist, as this reader may see them: made from the data, not fixed.
        if (agency, resource_id) not in (
            ("all", "all"),
            ("RECNET", "all"),
            ("RECNET", "CC_RR_STATS"),
            ("all", "CC_RR_STATS"),
        ):
            raise sdmx_structures.NoResultsFound("No content constraint matches the query.")
        found = sdmx_data.availability(session, principal, sdmx_data.data_query(DATAFLOW_ID))
        selection = sdmx_structures.resolve_constraint(found, references=references, detail=detail)
        return structure_response(request, response, offer, selection, repr(found))
    selection = sdmx_structures.resolve(
        resource, agency, resource_id, version, item, references=references, detail=detail
    )
    return structure_response(request, response, offer, selection, "|".join((references, detail)))


@router.get("/{resource}", responses=_RESPONSES)
def get_sdmx_structures(
    request: Request,
    response: Response,
    resource: Segment,
    principal: PrincipalDep,
    session: SessionDep,
    references: ReferencesQuery = "none",
    detail: DetailQuery = "full",
) -> Response:
    """SDMX structure query: every artefact of a resource (dataflow, datastructure, codelist,
    conceptscheme, agencyscheme, dataproviderscheme, organisationscheme, structure)."""
    return _structure(
        request, response, principal, session, resource, references=references, detail=detail
    )


@router.get("/{resource}/{agencyID}", responses=_RESPONSES)
def get_sdmx_structures_of_agency(
    request: Request,
    response: Response,
    resource: Segment,
    agencyID: Segment,  # noqa: N803 (the SDMX REST parameter names)
    principal: PrincipalDep,
    session: SessionDep,
    references: ReferencesQuery = "none",
    detail: DetailQuery = "full",
) -> Response:
    """SDMX structure query by maintenance agency (+ for several, all for any)."""
    return _structure(
        request,
        response,
        principal,
        session,
        resource,
        agencyID,
        references=references,
        detail=detail,
    )


@router.get("/{resource}/{agencyID}/{resourceID}", responses=_RESPONSES)
def get_sdmx_structure(
    request: Request,
    response: Response,
    resource: Segment,
    agencyID: Segment,  # noqa: N803
    resourceID: Segment,  # noqa: N803
    principal: PrincipalDep,
    session: SessionDep,
    references: ReferencesQuery = "none",
    detail: DetailQuery = "full",
) -> Response:
    """SDMX structure query by agency and id, latest version."""
    return _structure(
        request,
        response,
        principal,
        session,
        resource,
        agencyID,
        resourceID,
        references=references,
        detail=detail,
    )


@router.get(
    "/{resource}/{agencyID}/{resourceID}/{version}",
    responses=_RESPONSES,
)
def get_sdmx_structure_version(
    request: Request,
    response: Response,
    resource: Segment,
    agencyID: Segment,  # noqa: N803
    resourceID: Segment,  # noqa: N803
    version: Segment,
    principal: PrincipalDep,
    session: SessionDep,
    references: ReferencesQuery = "none",
    detail: DetailQuery = "full",
) -> Response:
    """SDMX structure query by agency, id and version (latest, all, or + joined versions)."""
    return _structure(
        request,
        response,
        principal,
        session,
        resource,
        agencyID,
        resourceID,
        version,
        references=references,
        detail=detail,
    )


@router.get(
    "/{resource}/{agencyID}/{resourceID}/{version}/{itemID}",
    responses=_RESPONSES,
)
def get_sdmx_structure_items(
    request: Request,
    response: Response,
    resource: Segment,
    agencyID: Segment,  # noqa: N803
    resourceID: Segment,  # noqa: N803
    version: Segment,
    itemID: Segment,  # noqa: N803
    principal: PrincipalDep,
    session: SessionDep,
    references: ReferencesQuery = "none",
    detail: DetailQuery = "full",
) -> Response:
    """SDMX structure query for some items of an item scheme (codes of a codelist ...)."""
    return _structure(
        request,
        response,
        principal,
        session,
        resource,
        agencyID,
        resourceID,
        version,
        itemID,
        references=references,
        detail=detail,
    )
