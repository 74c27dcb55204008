"""The SDMX REST web service over RR_STATS (SDMX RESTful specification v1.5.0).

- data: ``/v1/sdmx/data/{flowRef}[/{key}[/{providerRef}]]``, the caller's view of the protected
  cube (exact figures only where ``auth.visibility`` allows), in SDMX-ML 2.1 (generic by
  default, as the specification says; structure-specific), SDMX-JSON 1.0 and 2.0, SDMX-CSV 1.0
  and 2.0, streamed;
- schema: ``/v1/sdmx/schema/{context}/{agencyID}/{resourceID}[/{version}]``, the XSD of the
  structure-specific data;
- structure: ``/v1/sdmx/{resource}[/{agencyID}[/{resourceID}[/{version}[/{itemID}]]]]`` with
  ``references`` and ``detail``, SDMX-ML 2.1 by default, SDMX-JSON 1.0.

The data and schema routes are declared first, so ``/v1/sdmx/data/...`` is never read as a
structure resource called ``data``.
"""

from __future__ import annotations

import hashlib
import uuid
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Any, Final, Literal

import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from recnet.api.http import preferred_languages, public_base
from recnet.api.v1.sdmx_negotiation import Offer, negotiate
from recnet.auth.principal import Principal, PrincipalDep
from recnet.clock import utcnow
from recnet.db import Database, DatabaseDep, SessionDep
from recnet.errors import ValidationProblem
from recnet.formats import sdmx, sdmx_ml_data, sdmx_structure
from recnet.schemas.statistics import DATAFLOW_ID
from recnet.schemas.statistics_sdmx import VALID_FROM
from recnet.services import sdmx_data, sdmx_structures

router = APIRouter(prefix="/sdmx", tags=["sdmx"])

# Structure and availability answers.
SDMX_ML: Final = Offer(
    "xml", sdmx_structure.SDMX_ML_STRUCTURE, frozenset({"2.1"}), generic_xml=True
)
SDMX_JSON: Final = Offer("json", sdmx_structure.SDMX_JSON_STRUCTURE, frozenset({"1.0", "1.0.0"}))
STRUCTURE_OFFERS: Final = [SDMX_ML, SDMX_JSON]

# ---------------------------------------------------------------- data

STRUCTURE_SPECIFIC: Final = Offer(
    "structurespecificdata", sdmx_ml_data.STRUCTURE_SPECIFIC, frozenset({"2.1"})
)
GENERIC: Final = Offer("genericdata", sdmx_ml_data.GENERIC, frozenset({"2.1"}), generic_xml=True)
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
FlowRef = Annotated[str, Path(max_length=100, pattern=r"^[A-Za-z0-9_@$\-.,]+$")]
Key = Annotated[str, Path(max_length=1000)]
ProviderRef = Annotated[str, Path(max_length=500, pattern=r"^[A-Za-z0-9_@$\-.,+]+$")]
PeriodQuery = Annotated[str | None, Query(max_length=10, description="2024, 2024-Q1 or 2024-03.")]
CountQuery = Annotated[int | None, Query(ge=1, le=10_000)]


ObservationLevel = Literal[
    "TIME_PERIOD", "AllDimensions", "REF_AREA", "INDICATOR", "SEX", "AGE", "COUNTERPART_AREA"
]


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
            sdmx_ml_data.structure_specific_data
            if offer is STRUCTURE_SPECIFIC
            else sdmx_ml_data.generic_data
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


def _data_version(database: Database) -> tuple[int, datetime]:
    with database.transaction(write=False) as session:
        return sdmx_data.data_version(session)


async def _open_stream(
    database: Database,
    principal: Principal,
    query: sdmx_data.DataQuery,
    encode: Callable[[Iterator[sdmx.Observation]], Iterator[bytes]],
) -> AsyncIterator[bytes]:
    """The message's chunks, once its first chunk is made: a query without data raises
    ``NoResultsFound`` here, before any status is sent."""

    def chunks() -> Generator[bytes, None, None]:
        with database.transaction(write=False) as session:
            yield from encode(sdmx_data.cells(session, principal, query))

    async def body() -> AsyncGenerator[bytes, None]:
        # The export holds a connection while it streams: it takes a slot like a request.
        async with database.admission():
            iterator = chunks()
            try:
                while (chunk := await anyio.to_thread.run_sync(next, iterator, None)) is not None:
                    yield chunk
            finally:
                await anyio.to_thread.run_sync(iterator.close)

    stream = body()
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
    async with database.admission():
        head, changed = await anyio.to_thread.run_sync(_data_version, database)
    # The answer is fixed by the log's head, the query, the format and the reader's view.
    etag = '"' + hashlib.sha256(
        "|".join(
            (str(head), str(request.url.path), str(request.url.query), offer.key, lang,
             principal.role.value, principal.tenant or "")
        ).encode()
    ).hexdigest()[:32] + '"'  # fmt: skip
    last_modified = _http_date(changed)
    headers = {
        **dict(response.headers),
        "ETag": etag,
        "Last-Modified": last_modified,
        "Vary": "Accept, Accept-Encoding, Accept-Language, Authorization",
    }
    headers.pop("content-length", None)
    if _not_modified(request, etag, last_modified):
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


# ---------------------------------------------------------------- availability

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
    changed = _http_date(sdmx_data.data_version(session)[1])
    return _structures(request, response, offer, selection, repr(found), changed)


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


# ---------------------------------------------------------------- schema


@router.get(
    "/schema/{context}/{agencyID}/{resourceID}",
    responses={200: {"content": {sdmx_ml_data.SDMX_SCHEMA: {}}}, 304: {}, 404: {}, 406: {}},
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
    responses={200: {"content": {sdmx_ml_data.SDMX_SCHEMA: {}}}, 304: {}, 404: {}, 406: {}},
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


SCHEMA: Final = Offer("xsd", sdmx_ml_data.SDMX_SCHEMA, frozenset({"2.1"}), generic_xml=True)


def _schema(request: Request, agency: str, id_: str, version: str, level: str) -> Response:
    offer = negotiate(request.headers.get("accept"), [SCHEMA], SCHEMA)
    if agency not in ("RECNET", "all") or id_ != "RR_STATS" or version not in ("1.0", "latest"):
        raise sdmx_data.NoResultsFound(f"No structure {agency}:{id_}({version}).")
    etag = '"' + hashlib.sha256(f"{VALID_FROM}|schema|{level}".encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Last-Modified": _LAST_MODIFIED, "Vary": "Accept"}
    if _not_modified(request, etag, _LAST_MODIFIED):
        return Response(status_code=304, headers=headers)
    body = sdmx_ml_data.structure_schema(level)
    return Response(body, media_type=offer.media_type, headers=headers)


# ---------------------------------------------------------------- structure

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


def _not_modified(request: Request, etag: str, last_modified: str) -> bool:
    """If-None-Match first (RFC 9110: If-Modified-Since is ignored when it is present)."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match[:2000].split(",")}
        return "*" in tags or etag in tags
    since = request.headers.get("if-modified-since")
    if since:
        try:
            return parsedate_to_datetime(since[:100]) >= parsedate_to_datetime(last_modified)
        except (TypeError, ValueError):
            return False
    return False


def _http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


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
        return _structures(request, response, offer, selection, repr(found))
    selection = sdmx_structures.resolve(
        resource, agency, resource_id, version, item, references=references, detail=detail
    )
    return _structures(request, response, offer, selection, "|".join((references, detail)))


def _structures(
    request: Request,
    response: Response,
    offer: Offer,
    selection: Any,
    state: str,
    last_modified: str = _LAST_MODIFIED,
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
    if _not_modified(request, etag, last_modified):
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
