"""The SDMX data query: ``/v1/sdmx/data/{flowRef}[/{key}[/{providerRef}]]``, the caller's view of
the protected cube (exact figures only where ``auth.visibility`` allows), in SDMX-ML 2.1 (generic
by default, as the specification says; structure-specific), SDMX-JSON 1.0 and 2.0, SDMX-CSV 1.0
and 2.0, streamed (gzip when asked), with an ETag of the log's head.
"""

from __future__ import annotations

import hashlib
import uuid
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from recnet.api.deps import DatabaseDep, PrincipalDep
from recnet.api.http import download_headers, http_date, not_modified, preferred_languages
from recnet.api.v1.sdmx.common import (
    FlowRef,
    Key,
    PeriodQuery,
    ProviderRef,
)
from recnet.api.v1.sdmx_negotiation import Offer, negotiate
from recnet.auth.principal import Principal
from recnet.clock import utcnow
from recnet.db import Database
from recnet.errors import ValidationProblem
from recnet.formats import sdmx
from recnet.formats.sdmx import ml_data
from recnet.services import sdmx_data

router = APIRouter()

STRUCTURE_SPECIFIC: Final = Offer(
    "structurespecificdata", ml_data.STRUCTURE_SPECIFIC, frozenset({"2.1"})
)
GENERIC: Final = Offer("genericdata", ml_data.GENERIC, frozenset({"2.1"}), generic_xml=True)
DATA_OFFERS: Final = [
    STRUCTURE_SPECIFIC,
    GENERIC,
    # Before 2.0: a caller who names no version gets the SDMX-JSON recnet always served.
    Offer("sdmx-json", sdmx.SDMX_JSON, frozenset({"1.0", "1.0.0"})),
    Offer("sdmx-json-2", sdmx.SDMX_JSON_2, frozenset({"2.0", "2.0.0"})),
    Offer("sdmx-csv", sdmx.SDMX_CSV, frozenset({"2.0", "2.0.0"})),
    Offer("sdmx-csv-1", sdmx.SDMX_CSV_1, frozenset({"1.0", "1.0.0"})),
]
_BY_FORMAT: Final = {o.key: o for o in DATA_OFFERS}
DataFormat = Literal["structurespecificdata", "genericdata", "sdmx-json", "sdmx-csv"]
_DATA_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {"content": {o.media_type: {} for o in DATA_OFFERS}},
    304: {"description": "Not modified"},
    404: {"description": "No results found"},
    406: {"description": "Not acceptable"},
}

CountQuery = Annotated[int | None, Query(ge=1, le=10_000)]


class DataParams:
    """The SDMX data query parameters, bounded."""

    def __init__(
        self,
        startPeriod: PeriodQuery = None,  # noqa: N803 (the SDMX REST parameter names)
        endPeriod: PeriodQuery = None,  # noqa: N803
        updatedAfter: datetime | None = None,  # noqa: N803
        firstNObservations: CountQuery = None,  # noqa: N803
        lastNObservations: CountQuery = None,  # noqa: N803
        dimensionAtObservation: Annotated[  # noqa: N803
            str,
            Query(
                max_length=30,
                description="TIME_PERIOD (the default), another dimension, or AllDimensions.",
            ),
        ] = "",
        detail: Annotated[
            Literal["full", "dataonly", "serieskeysonly", "nodata"], Query()
        ] = "full",
        includeHistory: Annotated[  # noqa: N803
            bool, Query(description="Accepted; the answer has no history.")
        ] = False,
        format: Annotated[DataFormat | None, Query(description="Overrides Accept.")] = None,
    ) -> None:
        self.start_period = startPeriod
        self.end_period = endPeriod
        self.updated_after = updatedAfter
        self.first_n = firstNObservations
        self.last_n = lastNObservations
        self.dimension_at_observation = dimensionAtObservation
        self.detail = detail
        self.format = format


DataParamsDep = Annotated[DataParams, Depends()]


def _observation_level(offer: Offer, params: DataParams) -> str:
    """The dimension at the observation: as asked, else the flat form for SDMX-JSON 1.0 (as
    recnet's SDMX-JSON always was) and TIME_PERIOD for the others (the specification's default,
    which SDMX-JSON 2.0, new here, follows)."""
    if params.dimension_at_observation:
        return params.dimension_at_observation
    return "AllDimensions" if offer.key == "sdmx-json" else "TIME_PERIOD"


def _encoder(
    offer: Offer, params: DataParams, lang: str
) -> Callable[[Iterator[sdmx.Observation]], Iterator[bytes]]:
    message_id = f"RR_STATS-{uuid.uuid4().hex[:12]}"
    prepared = utcnow()
    keys_only = params.detail in ("serieskeysonly", "nodata")
    level = _observation_level(offer, params)
    if offer.key.startswith("sdmx-csv") and keys_only:
        raise ValidationProblem(
            "detail=serieskeysonly and nodata are answered in SDMX-ML and SDMX-JSON."
        )
    if offer is STRUCTURE_SPECIFIC or offer is GENERIC:
        write = (
            ml_data.structure_specific_data if offer is STRUCTURE_SPECIFIC else ml_data.generic_data
        )
        return lambda cells: write(
            cells,
            message_id=message_id,
            prepared=prepared,
            dimension_at_observation=level,
            detail=params.detail,
        )
    if offer.key.startswith("sdmx-json"):
        version: sdmx.JsonVersion = "2.0" if offer.key == "sdmx-json-2" else "1.0"
        return lambda cells: sdmx.sdmx_json(
            cells,
            message_id=message_id,
            prepared=prepared,
            lang=lang,
            dimension_at_observation=level,
            # The cube is read in key order, so series arrive whole: the series form streams.
            sorted_by_series=True,
            series_keys_only=keys_only,
            version=version,
        )
    return sdmx.sdmx_csv if offer.key == "sdmx-csv" else sdmx.sdmx_csv_1


def _gzip(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    async def compressed() -> AsyncIterator[bytes]:
        compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
        async for chunk in chunks:
            if out := compressor.compress(chunk):
                yield out
        yield compressor.flush()

    return compressed()


def flow_file_name(flow: str) -> str:
    """The name a download of a dataflow is saved under: its id (AGENCY,ID,VERSION gives ID),
    in safe characters."""
    parts = flow.split(",")
    name = parts[1] if len(parts) > 1 else parts[0]
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in name)[:60] or "data"


async def _open_stream(
    database: Database,
    principal: Principal,
    query: sdmx_data.DataQuery,
    encode: Callable[[Iterator[sdmx.Observation]], Iterator[bytes]],
) -> AsyncIterator[bytes]:
    """The message's chunks, once its first chunk is made: a query without data raises
    ``NoResultsFound`` here, before any status is sent."""

    def chunks(session: Session) -> Iterator[bytes]:
        yield from encode(sdmx_data.cells(session, principal, query))

    # The export holds a connection while it streams: it takes a slot like a request.
    stream = database.stream(chunks, write=False)
    first = await stream.__anext__()

    async def rest() -> AsyncIterator[bytes]:
        try:
            yield first
            async for chunk in stream:
                yield chunk
        finally:
            await stream.aclose()

    return rest()


async def _data(
    request: Request,
    response: Response,
    principal: Principal,
    database: Database,
    params: DataParams,
    flow: str,
    key: str = "all",
    provider: str = "all",
) -> Response:
    if params.format is not None:
        offer = _BY_FORMAT[params.format]
    else:
        # Generic data by default, as the specification says (4.6): a client that has not read
        # the structure (sdmx1 given a key as text) asks for no format and reads it unaided.
        offer = negotiate(request.headers.get("accept"), DATA_OFFERS, GENERIC)
    query = sdmx_data.data_query(
        flow,
        key,
        provider,
        start_period=params.start_period,
        end_period=params.end_period,
        updated_after=params.updated_after,
        first_n=params.first_n,
        last_n=params.last_n,
        detail=params.detail,
        observation_dimension=_observation_level(offer, params),
    )
    lang = (preferred_languages(request) or ["en"])[0]
    encode = _encoder(offer, params, lang)
    head, changed = await database.run(sdmx_data.data_version, write=False)
    # The answer is fixed by the log's head, the query, the format and the reader's view.
    etag = '"' + hashlib.sha256(
        "|".join(
            (str(head), str(request.url.path), str(request.url.query), offer.key, lang,
             principal.role.value, principal.tenant or "")
        ).encode()
    ).hexdigest()[:32] + '"'  # fmt: skip
    last_modified = http_date(changed)
    extension = "json" if "json" in offer.key else "csv" if "csv" in offer.key else "xml"
    headers = {
        **dict(response.headers),
        **download_headers(etag, last_modified, f"{flow_file_name(flow)}.{extension}"),
        "Vary": "Accept, Accept-Encoding, Accept-Language, Authorization",
    }
    headers.pop("content-length", None)
    if not_modified(request, etag, last_modified):
        return Response(status_code=304, headers=headers)
    chunks = await _open_stream(database, principal, query, encode)
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        headers["Content-Encoding"] = "gzip"
        chunks = _gzip(chunks)
    return StreamingResponse(chunks, media_type=offer.media_type, headers=headers)


@router.get("/data/{flow}", responses=_DATA_RESPONSES)
async def get_sdmx_dataflow_data(
    request: Request,
    response: Response,
    principal: PrincipalDep,
    database: DatabaseDep,
    flow: FlowRef,
    params: DataParamsDep,
) -> Response:
    """SDMX REST data query for the whole dataflow (RR_STATS, RECNET,RR_STATS[,1.0|latest])."""
    return await _data(request, response, principal, database, params, flow)


@router.get("/data/{flow}/{key}", responses=_DATA_RESPONSES)
async def get_sdmx_data(
    request: Request,
    response: Response,
    principal: PrincipalDep,
    database: DatabaseDep,
    flow: FlowRef,
    key: Key,
    params: DataParamsDep,
) -> Response:
    """SDMX REST data query by key: the five dimensions before TIME_PERIOD in order, separated
    by dots, + for several codes, empty for all (UZB.RETURNED.F..)."""
    return await _data(request, response, principal, database, params, flow, key)


@router.get("/data/{flow}/{key}/{providerRef}", responses=_DATA_RESPONSES)
async def get_sdmx_provider_data(
    request: Request,
    response: Response,
    principal: PrincipalDep,
    database: DatabaseDep,
    flow: FlowRef,
    key: Key,
    providerRef: ProviderRef,  # noqa: N803
    params: DataParamsDep,
) -> Response:
    """SDMX REST data query by key and data provider (the member state: UZB, RECNET,UZB)."""
    return await _data(request, response, principal, database, params, flow, key, providerRef)
