"""SDMX REST structure queries (SDMX RESTful specification v1.5.0, 4.3) over RR_STATS.

``/v1/sdmx/{resource}[/{agencyID}[/{resourceID}[/{version}[/{itemID}]]]]`` with ``references``
and ``detail``; SDMX-ML 2.1 by default, SDMX-JSON 1.0 by ``Accept``. The data queries live beside
the other statistics reads (``api/v1/statistics.py``) and are registered before these routes, so
``/v1/sdmx/data/...`` is never read as a resource called ``data``.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query, Request, Response

from recnet.api.v1.http import preferred_languages
from recnet.api.v1.sdmx_negotiation import Offer, negotiate
from recnet.db import utcnow
from recnet.formats import sdmx_structure
from recnet.schemas.statistics_sdmx import VALID_FROM
from recnet.services import sdmx_structures

router = APIRouter(prefix="/sdmx", tags=["sdmx"])

SDMX_ML: Final = Offer(
    "xml", sdmx_structure.SDMX_ML_STRUCTURE, frozenset({"2.1"}), generic_xml=True
)
SDMX_JSON: Final = Offer("json", sdmx_structure.SDMX_JSON_STRUCTURE, frozenset({"1.0", "1.0.0"}))
STRUCTURE_OFFERS: Final = [SDMX_ML, SDMX_JSON]
_LAST_MODIFIED: Final = format_datetime(datetime.fromisoformat(VALID_FROM), usegmt=True)

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


def _not_modified(request: Request, etag: str) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or etag in tags
    since = request.headers.get("if-modified-since")
    if since:
        try:
            return parsedate_to_datetime(since) >= parsedate_to_datetime(_LAST_MODIFIED)
        except (TypeError, ValueError):
            return False
    return False


def _structure(
    request: Request,
    response: Response,
    resource: str,
    agency: str = "all",
    resource_id: str = "all",
    version: str = "latest",
    item: str = "all",
    references: str = "none",
    detail: str = "full",
) -> Response:
    offer = negotiate(request.headers.get("accept"), STRUCTURE_OFFERS, SDMX_ML)
    selection = sdmx_structures.resolve(
        resource, agency, resource_id, version, item, references=references, detail=detail
    )
    lang = (preferred_languages(request) or ["en"])[0]
    base = str(request.base_url).rstrip("/") + "/v1/sdmx"
    # The artefacts change only with a new version of the service's structure: the tag is the
    # query, the format and the language, not the message (whose id and time are new each time).
    etag = (
        '"'
        + hashlib.sha256(
            "|".join(
                (VALID_FROM, str(request.url.path), references, detail, offer.key, lang, base)
            ).encode()
        ).hexdigest()[:32]
        + '"'
    )
    headers = {
        **dict(response.headers),
        "ETag": etag,
        "Last-Modified": _LAST_MODIFIED,
        "Vary": "Accept, Accept-Language",
    }
    headers.pop("content-length", None)
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    message_id = f"IREF{uuid.uuid4().hex[:16]}"
    if offer is SDMX_JSON:
        body = sdmx_structure.structure_json(
            selection, message_id=message_id, prepared=utcnow(), base=base, lang=lang
        )
    else:
        body = sdmx_structure.structure_xml(
            selection, message_id=message_id, prepared=utcnow(), base=base
        )
    return Response(body, media_type=offer.media_type, headers=headers)


@router.get("/{resource}", responses=_RESPONSES)
def get_sdmx_structures(
    request: Request,
    response: Response,
    resource: Segment,
    references: ReferencesQuery = "none",
    detail: DetailQuery = "full",
) -> Response:
    """SDMX structure query: every artefact of a resource (dataflow, datastructure, codelist,
    conceptscheme, agencyscheme, dataproviderscheme, organisationscheme, structure)."""
    return _structure(request, response, resource, references=references, detail=detail)


@router.get("/{resource}/{agencyID}", responses=_RESPONSES)
def get_sdmx_structures_of_agency(
    request: Request,
    response: Response,
    resource: Segment,
    agencyID: Segment,  # noqa: N803 (the SDMX REST parameter names)
    references: ReferencesQuery = "none",
    detail: DetailQuery = "full",
) -> Response:
    """SDMX structure query by maintenance agency (+ for several, all for any)."""
    return _structure(request, response, resource, agencyID, references=references, detail=detail)


@router.get("/{resource}/{agencyID}/{resourceID}", responses=_RESPONSES)
def get_sdmx_structure(
    request: Request,
    response: Response,
    resource: Segment,
    agencyID: Segment,  # noqa: N803
    resourceID: Segment,  # noqa: N803
    references: ReferencesQuery = "none",
    detail: DetailQuery = "full",
) -> Response:
    """SDMX structure query by agency and id, latest version."""
    return _structure(
        request, response, resource, agencyID, resourceID, references=references, detail=detail
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
    references: ReferencesQuery = "none",
    detail: DetailQuery = "full",
) -> Response:
    """SDMX structure query by agency, id and version (latest, all, or + joined versions)."""
    return _structure(
        request,
        response,
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
    references: ReferencesQuery = "none",
    detail: DetailQuery = "full",
) -> Response:
    """SDMX structure query for some items of an item scheme (codes of a codelist ...)."""
    return _structure(
        request,
        response,
        resource,
        agencyID,
        resourceID,
        version,
        itemID,
        references=references,
        detail=detail,
    )
