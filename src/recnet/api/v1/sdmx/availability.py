"""The SDMX availability query: ``/v1/sdmx/availableconstraint/{flowRef}[/{key}[/{providerRef}
[/{componentID}]]]``, an actual content constraint of the data the caller may see, with the series
and observation counts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from recnet.api.deps import PrincipalDep, SessionDep
from recnet.api.http import http_date
from recnet.api.v1.sdmx.common import (
    SDMX_JSON,
    SDMX_ML,
    STRUCTURE_OFFERS,
    FlowRef,
    Key,
    PeriodQuery,
    ProviderRef,
    structure_response,
)
from recnet.api.v1.sdmx_negotiation import negotiate
from recnet.auth.principal import Principal
from recnet.services import sdmx_data, sdmx_structures

router = APIRouter()

ModeQuery = Annotated[
    Literal["exact", "available"],
    Query(
        description="exact: the codes the query's data have; available: the codes that "
        "would still give data if chosen with the rest of the query."
    ),
]
ComponentID = Annotated[str, Path(max_length=50, pattern=r"^[A-Za-z0-9_]+$")]


def _available(
    request: Request,
    response: Response,
    principal: Principal,
    session: Any,
    flow: str,
    key: str,
    provider: str,
    component: str,
    params: AvailabilityParams,
) -> Response:
    offer = negotiate(request.headers.get("accept"), STRUCTURE_OFFERS, SDMX_ML)
    query = sdmx_data.data_query(
        flow,
        key,
        provider,
        start_period=params.start_period,
        end_period=params.end_period,
        updated_after=params.updated_after,
    )
    found = sdmx_data.availability(session, principal, query, mode=params.mode, component=component)
    selection = sdmx_structures.resolve_constraint(found, references=params.references)
    changed = http_date(sdmx_data.data_version(session)[1])
    return structure_response(request, response, offer, selection, repr(found), changed)


class AvailabilityParams:
    """The parameters of an SDMX availability query, bounded."""

    def __init__(
        self,
        startPeriod: PeriodQuery = None,  # noqa: N803
        endPeriod: PeriodQuery = None,  # noqa: N803
        updatedAfter: datetime | None = None,  # noqa: N803
        mode: ModeQuery = "exact",
        references: Annotated[
            str,
            Query(
                max_length=30,
                description="none, all, codelist, conceptscheme, datastructure, dataflow or "
                "dataproviderscheme.",
            ),
        ] = "none",
    ) -> None:
        self.start_period = startPeriod
        self.end_period = endPeriod
        self.updated_after = updatedAfter
        self.mode = mode
        self.references = references


AvailabilityDep = Annotated[AvailabilityParams, Depends()]
_AVAILABILITY_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {"content": {SDMX_ML.media_type: {}, SDMX_JSON.media_type: {}}},
    304: {"description": "Not modified"},
    404: {"description": "No results found"},
    406: {"description": "Not acceptable"},
}


@router.get("/availableconstraint/{flow}", responses=_AVAILABILITY_RESPONSES)
def get_sdmx_availability(
    request: Request,
    response: Response,
    principal: PrincipalDep,
    session: SessionDep,
    flow: FlowRef,
    params: AvailabilityDep,
) -> Response:
    """SDMX availability query: an actual content constraint of the data that exist, with the
    series and observation counts."""
    return _available(request, response, principal, session, flow, "all", "all", "all", params)


@router.get("/availableconstraint/{flow}/{key}", responses=_AVAILABILITY_RESPONSES)
def get_sdmx_key_availability(
    request: Request,
    response: Response,
    principal: PrincipalDep,
    session: SessionDep,
    flow: FlowRef,
    key: Key,
    params: AvailabilityDep,
) -> Response:
    """SDMX availability query for a data key."""
    return _available(request, response, principal, session, flow, key, "all", "all", params)


@router.get("/availableconstraint/{flow}/{key}/{providerRef}", responses=_AVAILABILITY_RESPONSES)
def get_sdmx_provider_availability(
    request: Request,
    response: Response,
    principal: PrincipalDep,
    session: SessionDep,
    flow: FlowRef,
    key: Key,
    providerRef: ProviderRef,  # noqa: N803
    params: AvailabilityDep,
) -> Response:
    """SDMX availability query for a data key and data provider."""
    return _available(request, response, principal, session, flow, key, providerRef, "all", params)


@router.get(
    "/availableconstraint/{flow}/{key}/{providerRef}/{componentID}",
    responses=_AVAILABILITY_RESPONSES,
)
def get_sdmx_component_availability(
    request: Request,
    response: Response,
    principal: PrincipalDep,
    session: SessionDep,
    flow: FlowRef,
    key: Key,
    providerRef: ProviderRef,  # noqa: N803
    componentID: ComponentID,  # noqa: N803
    params: AvailabilityDep,
) -> Response:
    """SDMX availability query for one dimension (TIME_PERIOD included)."""
    return _available(
        request, response, principal, session, flow, key, providerRef, componentID, params
    )
