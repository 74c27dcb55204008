"""What the SDMX routes share: the path and query types, the structure formats and the structure
message answer (used by the structure and availability queries), and conditional requests
(``ETag``, ``Last-Modified``, ``If-None-Match``, ``If-Modified-Since``).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from email.utils import format_datetime
from typing import Annotated, Any, Final, Literal

from fastapi import Path, Query, Request, Response

from recnet.api.http import not_modified, preferred_languages, public_base
from recnet.api.v1.sdmx_negotiation import Offer
from recnet.clock import utcnow
from recnet.formats.sdmx import json_structure, ml_structure
from recnet.schemas.statistics_sdmx import VALID_FROM

# Structure and availability answers.
SDMX_ML: Final = Offer("xml", ml_structure.SDMX_ML_STRUCTURE, frozenset({"2.1"}), generic_xml=True)
SDMX_JSON: Final = Offer("json", json_structure.SDMX_JSON_STRUCTURE, frozenset({"1.0", "1.0.0"}))
STRUCTURE_OFFERS: Final = [SDMX_ML, SDMX_JSON]

FlowRef = Annotated[str, Path(max_length=100, pattern=r"^[A-Za-z0-9_@$\-.,]+$")]
Key = Annotated[str, Path(max_length=1000)]
ProviderRef = Annotated[str, Path(max_length=500, pattern=r"^[A-Za-z0-9_@$\-.,+]+$")]
PeriodQuery = Annotated[str | None, Query(max_length=10, description="2024, 2024-Q1 or 2024-03.")]

ObservationLevel = Literal[
    "TIME_PERIOD", "AllDimensions", "REF_AREA", "INDICATOR", "SEX", "AGE", "COUNTERPART_AREA"
]

LAST_MODIFIED: Final = format_datetime(datetime.fromisoformat(VALID_FROM), usegmt=True)


def structure_response(
    request: Request,
    response: Response,
    offer: Offer,
    selection: Any,
    state: str,
    last_modified: str = LAST_MODIFIED,
) -> Response:
    """A structure message of the selection; ``state`` with the path makes its ETag."""
    lang = (preferred_languages(request) or ["en"])[0]
    base = public_base(request) + "/v1/sdmx"  # never the Host header, which the caller chooses
    # The artefacts change only with a new version of the service's structure: the tag is the
    # query, the format and the language, not the message (whose id and time are new each time).
    etag = (
        '"'
        + hashlib.sha256(
            "|".join((VALID_FROM, str(request.url.path), state, offer.key, lang, base)).encode()
        ).hexdigest()[:32]
        + '"'
    )
    headers = {
        **dict(response.headers),
        "ETag": etag,
        "Last-Modified": last_modified,
        "Vary": "Accept, Accept-Language, Authorization",
    }
    headers.pop("content-length", None)
    if not_modified(request, etag, last_modified):
        return Response(status_code=304, headers=headers)
    message_id = f"IREF{uuid.uuid4().hex[:16]}"
    if offer is SDMX_JSON:
        body = json_structure.structure_json(
            selection, message_id=message_id, prepared=utcnow(), base=base, lang=lang
        )
    else:
        body = ml_structure.structure_xml(
            selection, message_id=message_id, prepared=utcnow(), base=base
        )
    return Response(body, media_type=offer.media_type, headers=headers)
