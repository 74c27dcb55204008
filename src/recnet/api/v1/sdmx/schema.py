"""The SDMX schema query: ``/v1/sdmx/schema/{context}/{agencyID}/{resourceID}[/{version}]``, the
XSD of the dataflow's structure-specific data.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Final, Literal

from fastapi import APIRouter, Path, Request, Response

from recnet.api.http import not_modified
from recnet.api.v1.sdmx.common import (
    LAST_MODIFIED,
    ObservationLevel,
)
from recnet.api.v1.sdmx_negotiation import Offer, negotiate
from recnet.formats.sdmx import ml_schema
from recnet.schemas.statistics_sdmx import VALID_FROM
from recnet.services import sdmx_data

router = APIRouter()


@router.get(
    "/schema/{context}/{agencyID}/{resourceID}",
    responses={200: {"content": {ml_schema.SDMX_SCHEMA: {}}}, 304: {}, 404: {}, 406: {}},
)
def get_sdmx_schema(
    request: Request,
    context: Annotated[Literal["dataflow", "datastructure"], Path()],
    agencyID: Annotated[str, Path(max_length=50)],  # noqa: N803
    resourceID: Annotated[str, Path(max_length=50)],  # noqa: N803
    dimensionAtObservation: ObservationLevel = "TIME_PERIOD",  # noqa: N803
    explicitMeasure: bool = False,  # noqa: N803
) -> Response:
    """The XML schema of the dataflow's structure-specific data (SDMX schema query)."""
    return _schema(request, agencyID, resourceID, "latest", dimensionAtObservation)


@router.get(
    "/schema/{context}/{agencyID}/{resourceID}/{version}",
    responses={200: {"content": {ml_schema.SDMX_SCHEMA: {}}}, 304: {}, 404: {}, 406: {}},
)
def get_sdmx_schema_version(
    request: Request,
    context: Annotated[Literal["dataflow", "datastructure"], Path()],
    agencyID: Annotated[str, Path(max_length=50)],  # noqa: N803
    resourceID: Annotated[str, Path(max_length=50)],  # noqa: N803
    version: Annotated[str, Path(max_length=20)],
    dimensionAtObservation: ObservationLevel = "TIME_PERIOD",  # noqa: N803
    explicitMeasure: bool = False,  # noqa: N803
) -> Response:
    """The XML schema of the dataflow's structure-specific data, by version."""
    return _schema(request, agencyID, resourceID, version, dimensionAtObservation)


SCHEMA: Final = Offer("xsd", ml_schema.SDMX_SCHEMA, frozenset({"2.1"}), generic_xml=True)


def _schema(request: Request, agency: str, id_: str, version: str, level: str) -> Response:
    offer = negotiate(request.headers.get("accept"), [SCHEMA], SCHEMA)
    if agency not in ("RECNET", "all") or id_ != "RR_STATS" or version not in ("1.0", "latest"):
        raise sdmx_data.NoResultsFound(f"No structure {agency}:{id_}({version}).")
    etag = '"' + hashlib.sha256(f"{VALID_FROM}|schema|{level}".encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Last-Modified": LAST_MODIFIED, "Vary": "Accept"}
    if not_modified(request, etag, LAST_MODIFIED):
        return Response(status_code=304, headers=headers)
    body = ml_schema.structure_schema(level)
    return Response(body, media_type=offer.media_type, headers=headers)
