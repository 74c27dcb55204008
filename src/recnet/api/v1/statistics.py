"""Aggregate statistics: the structure, imports, queries in JSON/CSV/SDMX, and aggregates."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Iterator
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from recnet.api.deps import RateLimit, count_request, principal_of
from recnet.api.http import (
    conditional,
    download_headers,
    http_date,
    next_link,
    not_modified,
    preferred_languages,
)
from recnet.api.readcache import Answer, CachedReadRoute, cached_read, request_key
from recnet.api.v1 import statistics_imports
from recnet.api.v1.sdmx_negotiation import NotAcceptable
from recnet.auth.principal import Principal
from recnet.clock import utcnow
from recnet.db import Database, set_tenant
from recnet.errors import ValidationProblem, moment_in_utc
from recnet.formats import sdmx
from recnet.schemas.common import Page
from recnet.schemas.paging import cursor_refused, decode_cursor, encode_cursor
from recnet.schemas.statistics import (
    DIMENSIONS,
    normalise_period,
)
from recnet.schemas.statistics_io import StatisticsObservation
from recnet.schemas.statistics_structure import StatisticsStructure, structure
from recnet.services import sdmx_data, statistics
from recnet.services.statistics import (
    CubeFilters,
    PublishedCell,
)

router = APIRouter(prefix="/statistics", tags=["statistics"])

MAX_PAGE = 10_000
Format = Literal["json", "csv", "sdmx-json", "sdmx-csv"]
MEDIA = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "sdmx-json": sdmx.SDMX_JSON,
    "sdmx-csv": sdmx.SDMX_CSV,
}
# The file names downloads are saved under (Content-Disposition).
EXTENSIONS = {"csv": "csv", "sdmx-json": "sdmx.json", "sdmx-csv": "sdmx.csv"}
AggregateFormat = Literal["json", "csv"]
Codes = Annotated[
    str | None, Query(max_length=500, description="One code, or several separated by , or +.")
]
Period = Annotated[str | None, Query(max_length=10, description="2024, 2024-Q1 or 2024-03.")]


@router.get("/structure", response_model=StatisticsStructure, dependencies=[RateLimit])
def get_statistics_structure(request: Request, response: Response) -> Response:
    """The RR_STATS data structure: dimensions in order, measure, attributes, every codelist."""
    return conditional(request, response, structure())


# The template and the import come next in the published document, as they always have.
router.include_router(statistics_imports.router, dependencies=[RateLimit])


# A cached answer depends on the format asked for and on the caller's view of the figures.
VARY = "Accept, Authorization"


async def _counted_caller(request: Request, response: Response) -> Principal:
    """The caller, counted against its limit: these routes are not under the router's
    ``RateLimit`` (api/v1/router.py), so that a kept answer needs no session. An empty
    Authorization header is refused, never taken for none."""
    principal = await principal_of(request)
    count_request(request, response, principal)
    return principal


def _codes(value: str | None) -> list[str]:
    if not value:
        return []
    return [c for c in value.replace("+", ",").split(",") if c][:100]


def _period(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    normalised = normalise_period(value)
    if normalised is None:
        raise ValidationProblem(
            f"{name} must be a year, quarter or month (2024, 2024-Q1, 2024-03)."
        )
    return normalised


def _cursor(value: str | None) -> statistics.Key | None:
    if value is None:
        return None
    key = decode_cursor(value, list)
    if not (len(key) == 6 and all(isinstance(k, str) for k in key)):
        raise cursor_refused()
    return tuple(key)


# An SDMX media type in Accept, with the version it names if any.
_SDMX_ACCEPT = re.compile(
    r"application/vnd\.sdmx\.data\+(json|csv)((?:\s*;[^,;]*)*)", re.IGNORECASE
)
# The versions this route's encoders write (MEDIA): SDMX-JSON 1.0, SDMX-CSV 2.0.
_SDMX_VERSIONS = {"json": "1.0", "csv": "2.0"}
_VERSION = re.compile(r";\s*version\s*=\s*\"?([^\";,\s]*)", re.IGNORECASE)


def _format(request: Request, given: Format | None) -> Format:
    if given:
        return given
    accept = request.headers.get("accept", "")[:2000]
    sdmx_type = _SDMX_ACCEPT.search(accept)
    if sdmx_type:
        kind, parameters = sdmx_type.groups()
        version = _VERSION.search(parameters)
        served = _SDMX_VERSIONS[kind.lower()]
        if version and version.group(1) not in (served, served + ".0"):
            raise NotAcceptable(
                f"This route gives SDMX-{kind.upper()} {served} only, not version "
                f"{version.group(1)[:20]!r}; /v1/sdmx/data/RR_STATS negotiates every SDMX format."
            )
        return "sdmx-json" if kind.lower() == "json" else "sdmx-csv"
    accept = accept.lower()
    if "text/csv" in accept:
        return "csv"
    return "json"


def _as_sdmx(cells: Iterable[PublishedCell]) -> Iterator[sdmx.Observation]:
    for c in cells:
        yield sdmx.Observation(
            c.key, c.value, c.obs_status, c.conf_status, c.unit, c.comment, c.source
        )


def _stream(
    database: Database,
    principal: Principal,
    filters: CubeFilters,
    encode: Callable[[Iterator[sdmx.Observation]], Iterator[bytes]],
) -> AsyncIterator[bytes]:
    """Chunks of an export of any size: rows are read in batches, encoded as they come."""

    def chunks(session: Session) -> Generator[bytes, None, None]:
        if encode is sdmx.plain_csv and statistics.copies_csv(filters):
            # Made whole by the database: several times faster than row by row here.
            lines = statistics.csv_in_database(session, principal, filters)
            yield from sdmx.csv_with_header(lines)
            return
        result = session.execute(
            statistics.cube_query(filters), execution_options={"yield_per": 2000}
        )
        yield from encode(_as_sdmx(statistics.published(principal, result, filters)))

    # The export holds a connection while it streams: it takes a slot like a request.
    return database.stream(chunks, write=False)


def _encoder(
    fmt: Format, lang: str, dimension_at_observation: str
) -> Callable[..., Iterator[bytes]]:
    if fmt == "csv":
        return sdmx.plain_csv
    if fmt == "sdmx-csv":
        return sdmx.sdmx_csv
    return lambda observations: sdmx.sdmx_json(
        observations,
        message_id=f"RR_STATS-{uuid.uuid4().hex[:12]}",
        prepared=utcnow(),
        lang=lang,
        dimension_at_observation=dimension_at_observation,
        # The cube is read in key order, so series arrive whole: the series form streams too.
        sorted_by_series=True,
    )


def _filters(
    ref_area: Codes = None,
    indicator: Codes = None,
    sex: Codes = None,
    age: Codes = None,
    counterpart_area: Codes = None,
    start_period: Period = None,
    end_period: Period = None,
    updated_since: datetime | None = None,
) -> CubeFilters:
    return CubeFilters(
        dimensions={
            "REF_AREA": _codes(ref_area),
            "INDICATOR": _codes(indicator),
            "SEX": _codes(sex),
            "AGE": _codes(age),
            "COUNTERPART_AREA": _codes(counterpart_area),
        },
        start_period=_period(start_period, "start_period"),
        end_period=_period(end_period, "end_period"),
        updated_since=moment_in_utc(updated_since, "updated_since") if updated_since else None,
    )


FiltersDep = Annotated[CubeFilters, Depends(_filters)]


async def list_observations(
    request: Request,
    response: Response,
    filters: FiltersDep,
    format: Format | None = None,
    limit: Annotated[
        int, Query(ge=1, le=1_000_000, description="JSON page size (max 10000).")
    ] = 1000,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> Response:
    """Observations as reported, disclosure-controlled below member-state level.

    JSON pages with a cursor; CSV and SDMX stream the whole selection.
    """
    # A JSON page computed before for the same query and visibility class, with nothing changed
    # since, comes from the read cache (api/readcache.py).
    principal = await _counted_caller(request, response)
    database: Database = request.app.state.database
    chosen = _format(request, format)
    if chosen != "json":
        lang = (preferred_languages(request) or ["en"])[0]

        def version(session: Session) -> tuple[int, datetime]:
            set_tenant(session, principal.tenant)
            return sdmx_data.data_version(session)

        # The export is fixed by the log's head, the query, the format and the reader's view:
        # a client that has it already is told so before anything is read.
        head, changed = await database.run(version, write=False)
        etag = _export_etag(request, principal, head, chosen, lang)
        last_modified = http_date(changed)
        headers = {
            **dict(response.headers),
            **download_headers(etag, last_modified, f"rr_stats_observations.{EXTENSIONS[chosen]}"),
            "Vary": "Accept, Accept-Language, Authorization",
        }
        if not_modified(request, etag, last_modified):
            return Response(status_code=304, headers=headers)
        encode = _encoder(chosen, lang, "AllDimensions")
        return StreamingResponse(
            _stream(database, principal, filters, encode),
            media_type=MEDIA[chosen],
            headers=headers,
        )
    limit = min(limit, MAX_PAGE)
    after = _cursor(cursor)

    def compute(session: Session) -> Answer:
        query = statistics.cube_query(filters, after).limit(limit + 1)
        rows = session.execute(query).all()
        cells = statistics.published(principal, rows[:limit], filters)
        next_cursor = encode_cursor(list(rows[limit - 1][:6])) if len(rows) > limit else None
        page = Page[StatisticsObservation](items=[_json(c) for c in cells], next_cursor=next_cursor)
        headers = [("Vary", VARY)]
        if next_cursor:
            headers.append(("Link", next_link(request, next_cursor)))
        return Answer(page.model_dump_json().encode(), headers=tuple(headers))

    return await _cached(request, response, principal, compute)


router.add_api_route(
    "/observations",
    list_observations,
    methods=["GET"],
    response_model=Page[StatisticsObservation],
    responses={200: {"content": {"text/csv": {}, sdmx.SDMX_JSON: {}, sdmx.SDMX_CSV: {}}}},
    route_class_override=CachedReadRoute,
)


async def _cached(
    request: Request, response: Response, principal: Principal, compute: Callable[..., Answer]
) -> Response:
    """``compute``'s answer through the read cache, keyed as its anonymous path keys it."""
    preferred = preferred_languages(request, request.query_params.get("lang"))
    return await cached_read(request, response, principal, request_key(request, preferred), compute)


def _export_etag(request: Request, principal: Principal, head: int, fmt: str, lang: str) -> str:
    parts = (
        str(head),
        request.url.path,
        request.url.query,
        fmt,
        lang,
        principal.role.value,
        principal.tenant or "",
    )
    return '"' + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32] + '"'


def _json(cell: PublishedCell) -> StatisticsObservation:
    return StatisticsObservation(
        **dict(zip(DIMENSIONS, cell.key, strict=True)),
        OBS_VALUE=cell.value,
        OBS_STATUS=cell.obs_status,
        CONF_STATUS=cell.conf_status,
        UNIT_MEASURE=cell.unit,
        SOURCE=cell.source,
        COMMENT=cell.comment,
    )


async def get_aggregates(
    request: Request,
    response: Response,
    by: Annotated[
        str, Query(max_length=200, description="Dimensions to keep, e.g. REF_AREA,TIME_PERIOD.")
    ] = "REF_AREA,TIME_PERIOD",
    indicator: Codes = None,
    ref_area: Annotated[
        str | None,
        Query(
            max_length=500,
            description="Member states (and CAS, the regional total) to give when REF_AREA is "
            "kept; by default the member states only, so a column sums to the region.",
        ),
    ] = None,
    frequency: Annotated[Literal["A", "Q", "M"], Query(description="A, Q or M.")] = "A",
    start_period: Period = None,
    end_period: Period = None,
    format: Annotated[
        AggregateFormat | None, Query(description="json or csv; overrides Accept.")
    ] = None,
) -> Response:
    """Totals over the dimensions not kept (the regional total when REF_AREA is not kept), at a
    frequency (quarters and months rolled up to years), from exact figures, then protected.

    With REF_AREA kept, the member states are given, and the regional total CAS only when
    asked for (ref_area=CAS): a sum down the column is then the region's total.
    """
    # As for observations: a repeat comes from the read cache (api/readcache.py).
    principal = await _counted_caller(request, response)
    chosen = _aggregate_format(request, format)
    filters = statistics.aggregate_filters(
        by,
        _codes(indicator),
        _codes(ref_area),
        _period(start_period, "start_period"),
        _period(end_period, "end_period"),
    )

    def compute(session: Session) -> Answer:
        query = statistics.cube_query(filters).where(statistics.cube_frequency(frequency))
        cells = statistics.published(principal, session.execute(query.limit(MAX_PAGE)), filters)
        if chosen == "csv":
            disposition = 'attachment; filename="rr_stats_aggregates.csv"'
            return Answer(
                b"".join(sdmx.plain_csv(_as_sdmx(cells))),
                MEDIA["csv"],
                (("Content-Disposition", disposition), ("Vary", VARY)),
            )
        page = Page[StatisticsObservation](items=[_json(c) for c in cells])
        return Answer(page.model_dump_json().encode(), headers=(("Vary", VARY),))

    return await _cached(request, response, principal, compute)


router.add_api_route(
    "/aggregates",
    get_aggregates,
    methods=["GET"],
    response_model=Page[StatisticsObservation],
    responses={200: {"content": {"text/csv": {}}}},
    route_class_override=CachedReadRoute,
)


def _aggregate_format(request: Request, given: AggregateFormat | None) -> AggregateFormat:
    """json or csv: as ``format`` says, else as Accept prefers (JSON unless only CSV is
    accepted; what neither can answer was refused with 406 before the route ran)."""
    if given:
        return given
    accept = request.headers.get("accept", "")[:2000].lower()
    if "text/csv" in accept and "application/json" not in accept:
        return "csv"
    return "json"
