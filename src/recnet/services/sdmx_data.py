"""SDMX REST data queries over the protected cube: what a query selects, and the cells it answers.

``data_query`` reads a query's path and parameters (flowRef, key, providerRef, periods,
``updatedAfter``) into ``CubeFilters``; ``cells`` reads the cube through ``statistics.published``
(so every figure is the caller's view: exact only where ``auth.visibility`` allows, protected
otherwise) and applies ``firstNObservations`` / ``lastNObservations`` per series and ``detail``.

The key names the five dimensions before TIME_PERIOD, in DSD order (``UZB.RETURNED.F..``), each
position empty (all) or ``+``-joined codes; the six-position form with periods, which recnet gave
before, is still read.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, Final

from sqlmodel import col, select

from recnet.auth.principal import Principal
from recnet.errors import NotFound, ValidationProblem
from recnet.formats.sdmx import Observation
from recnet.models import Event
from recnet.schemas.statistics import (
    AGENCY,
    DATAFLOW_ID,
    DIMENSIONS,
    MEMBER_STATES,
    VERSION,
    normalise_period,
    period_frequency,
)
from recnet.schemas.statistics_sdmx import VALID_FROM, Availability
from recnet.services import statistics
from recnet.services.events import STATISTICS_KIND
from recnet.services.statistics import CubeFilters

MAX_CODES: Final = 100
DETAILS: Final = ("full", "dataonly", "serieskeysonly", "nodata")
_FLOWS: Final = {
    DATAFLOW_ID,
    f"{AGENCY},{DATAFLOW_ID}",
    f"{AGENCY},{DATAFLOW_ID},{VERSION}",
    f"{AGENCY},{DATAFLOW_ID},latest",
    f"all,{DATAFLOW_ID},latest",
    f"all,{DATAFLOW_ID}",
}
_PROVIDERS: Final = frozenset(s.id for s in MEMBER_STATES)


class NoResultsFound(NotFound):
    """SDMX error 100: the query is valid but selects no data."""


@dataclass(frozen=True)
class DataQuery:
    filters: CubeFilters
    first_n: int | None = None
    last_n: int | None = None
    detail: str = "full"
    # The dimension the series leave to the observation: the cells are read so that each
    # series' cells come together (the key order puts TIME_PERIOD last already).
    observation_dimension: str = "TIME_PERIOD"


def _codes(position: str, name: str) -> list[str]:
    codes = [c for c in position.split("+") if c]
    if len(codes) > MAX_CODES:
        raise ValidationProblem(f"{name}: at most {MAX_CODES} codes.")
    return codes


def _period(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    normalised = normalise_period(value)
    if normalised is None:
        raise ValidationProblem(
            f"{name} must be a year, quarter or month (2024, 2024-Q1, 2024-03)."
        )
    return normalised


def _providers(provider_ref: str) -> list[str] | None:
    """``UZB``, ``RECNET,UZB`` or several joined by ``+``; None for all."""
    if provider_ref in ("all", ""):
        return None
    providers = []
    for part in _codes(provider_ref, "providerRef"):
        agency, _, provider = part.rpartition(",")
        if agency not in ("", AGENCY, f"{AGENCY},DATA_PROVIDERS"):
            raise NoResultsFound(f"No data provider {part}: the providers are {AGENCY}'s.")
        providers.append(provider)
    return providers


def data_query(
    flow_ref: str,
    key: str = "all",
    provider_ref: str = "all",
    *,
    start_period: str | None = None,
    end_period: str | None = None,
    updated_after: datetime | None = None,
    first_n: int | None = None,
    last_n: int | None = None,
    detail: str = "full",
    observation_dimension: str = "TIME_PERIOD",
) -> DataQuery:
    """The selection of an SDMX data query, checked: 404 for another dataflow, 422 for a key of
    the wrong length or a bad period."""
    if flow_ref not in _FLOWS:
        raise NoResultsFound(f"No dataflow {flow_ref}; this service publishes {DATAFLOW_ID}.")
    if detail not in DETAILS:
        raise ValidationProblem(f"detail is one of {', '.join(DETAILS)}.")
    if observation_dimension not in ("AllDimensions", *DIMENSIONS):
        raise ValidationProblem(
            f"dimensionAtObservation is AllDimensions or one of {', '.join(DIMENSIONS)}."
        )
    if (first_n or last_n) and observation_dimension not in ("AllDimensions", "TIME_PERIOD"):
        raise ValidationProblem(
            "firstNObservations and lastNObservations count periods: they go with "
            "dimensionAtObservation TIME_PERIOD or AllDimensions."
        )
    parts = key.split(".") if key not in ("all", "") else []
    if parts and len(parts) not in (len(DIMENSIONS) - 1, len(DIMENSIONS)):
        raise ValidationProblem(
            f"The key names the {len(DIMENSIONS) - 1} dimensions "
            f"{', '.join(DIMENSIONS[:-1])} in this order, separated by dots "
            "(an empty position for all codes), e.g. UZB.RETURNED.F.._T."
        )
    dimensions = {d: _codes(p, d) for d, p in zip(DIMENSIONS[:-1], parts, strict=False) if p}
    if len(parts) == len(DIMENSIONS) and parts[-1]:
        periods = [_period(p, "TIME_PERIOD") for p in _codes(parts[-1], "TIME_PERIOD")]
        dimensions["TIME_PERIOD"] = [p for p in periods if p]
    providers = _providers(provider_ref)
    if providers is not None:
        areas = dimensions.get("REF_AREA")
        chosen = [p for p in providers if areas is None or p in areas]
        if not chosen:
            raise NoResultsFound("The key and the data providers select no reference area.")
        dimensions["REF_AREA"] = chosen
    if updated_after is not None and updated_after.tzinfo is None:
        updated_after = updated_after.replace(tzinfo=UTC)
    filters = CubeFilters(
        dimensions=dimensions,
        start_period=_period(start_period, "startPeriod"),
        end_period=_period(end_period, "endPeriod"),
        updated_since=updated_after,
    )
    return DataQuery(filters, first_n, last_n, detail, observation_dimension)


def _bounds(period: str) -> tuple[date, date]:
    year = int(period[:4])
    frequency = period_frequency(period)
    if frequency == "A":
        return date(year, 1, 1), date(year, 12, 31)
    first = (int(period[6]) - 1) * 3 + 1 if frequency == "Q" else int(period[5:7])
    last = first + 2 if frequency == "Q" else first
    end = date(year + (last == 12), last % 12 + 1, 1)
    return date(year, first, 1), date.fromordinal(end.toordinal() - 1)


def _chronological(obs: Observation) -> tuple[date, date]:
    start, end = _bounds(obs.key[-1])
    return end, start


def _first_last(
    observations: Iterable[Observation], first_n: int | None, last_n: int | None
) -> Iterator[Observation]:
    """Per series, the first and/or last N observations in time (by the end of their period),
    written back in key order. A series is a few dozen cells: held one at a time."""
    for _, group in itertools.groupby(observations, key=lambda o: o.key[:-1]):
        in_time = sorted(group, key=_chronological)
        kept: dict[tuple[str, ...], Observation] = {}
        if first_n:
            kept.update((o.key, o) for o in in_time[:first_n])
        if last_n:
            kept.update((o.key, o) for o in in_time[-last_n:])
        yield from sorted(kept.values(), key=lambda o: o.key)


def _data_only(obs: Observation) -> Observation:
    # CONF_STATUS stays: without it a withheld cell would read as a figure nobody reported.
    return replace(obs, obs_status=None, comment=None, source=None)


def cells(session: Any, principal: Principal, query: DataQuery) -> Iterator[Observation]:
    """The selected cells as this principal may see them, in key order; ``NoResultsFound``
    (raised when the first cell is looked for) when there are none."""
    select_cells = statistics.cube_query(query.filters)
    if query.observation_dimension in DIMENSIONS[:-1]:
        columns = select_cells.selected_columns
        last = query.observation_dimension.lower()
        order = [c.lower() for c in DIMENSIONS if c.lower() != last] + [last]
        select_cells = select_cells.order_by(None).order_by(*(columns[c] for c in order))
    result = session.execute(select_cells, execution_options={"yield_per": 2000})
    observations: Iterator[Observation] = (
        Observation(c.key, c.value, c.obs_status, c.conf_status, c.unit, c.comment, c.source)
        for c in statistics.published(principal, result, query.filters)
    )
    if query.first_n or query.last_n:
        observations = _first_last(observations, query.first_n, query.last_n)
    if query.detail == "dataonly":
        observations = map(_data_only, observations)
    first = next(observations, None)
    if first is None:
        raise NoResultsFound("No data match the query.")
    yield first
    yield from observations


def _scan(session: Any, principal: Principal, query: DataQuery) -> list[Observation]:
    try:
        return list(cells(session, principal, query))
    except NoResultsFound:
        return []


def availability(
    session: Any,
    principal: Principal,
    query: DataQuery,
    *,
    mode: str = "exact",
    component: str = "all",
) -> Availability:
    """What data exist for a data query, in the caller's view (a withheld cell exists, as it does
    in the data): ``exact``, the codes the query's data have; ``available``, for each dimension
    the codes that would still give data if chosen with the rest of the query. ``component``
    narrows the answer to one dimension (``TIME_PERIOD`` included)."""
    if component != "all" and component not in DIMENSIONS:
        raise ValidationProblem(f"componentID is all or one of {', '.join(DIMENSIONS)}.")
    if mode not in ("exact", "available"):
        raise ValidationProblem("mode is exact or available.")
    selected = _scan(session, principal, query)
    if not selected:
        raise NoResultsFound("No data match the query.")
    asked = DIMENSIONS[:-1] if component == "all" else (component,)
    values: dict[str, tuple[str, ...]] = {}
    for position, dimension in enumerate(DIMENSIONS[:-1]):
        if dimension not in asked:
            continue
        source = selected
        if mode == "available" and dimension in query.filters.dimensions:
            others = {d: c for d, c in query.filters.dimensions.items() if d != dimension}
            source = _scan(
                session,
                principal,
                replace(query, filters=replace(query.filters, dimensions=others)),
            )
        values[dimension] = tuple(sorted({o.key[position] for o in source}))
    time_range = None
    if component in ("all", "TIME_PERIOD"):
        periods = sorted((o.key[-1] for o in selected), key=lambda p: _bounds(p))
        ends = sorted((o.key[-1] for o in selected), key=lambda p: _bounds(p)[1])
        time_range = (periods[0], ends[-1])
    return Availability(
        values=values,
        time_range=time_range,
        series_count=len({o.key[:-1] for o in selected}),
        obs_count=len(selected),
    )


def data_version(session: Any) -> tuple[int, datetime]:
    """The newest statistics event and its time: every import (the only way the cube changes)
    appends one, so an answer made at it stays right until the next. Only statistics events
    count: a record's events, some of them hidden from the reader (a draft, a RED record), must
    not move the validators of a public export and so tell when they happened. Cheap: the
    newest row of the log's (record_id, seq) index among those without a record."""
    row = session.execute(
        select(col(Event.seq), col(Event.occurred_at))
        .where(col(Event.record_id).is_(None), col(Event.kind) == STATISTICS_KIND)
        .order_by(col(Event.seq).desc())
        .limit(1)
    ).first()
    if row is None:
        return 0, datetime.fromisoformat(VALID_FROM)
    occurred: datetime = row[1]
    return int(row[0]), occurred if occurred.tzinfo else occurred.replace(tzinfo=UTC)
