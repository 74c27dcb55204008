"""Streaming SDMX-ML 2.1 data messages of RR_STATS: generic and structure-specific.

Like the other encoders of ``formats.sdmx``, each is a generator of UTF-8 chunks of about
``CHUNK_SIZE`` characters: the observations are read as they are written, memory stays flat.
Observations must come sorted by key (the cube is read so), so that a series' observations are
together.

- ``dimension_at_observation``: ``TIME_PERIOD`` (series keyed by the five other dimensions, the
  period at the observation) or ``AllDimensions`` (observations with their whole key).
- ``detail``: ``full``; ``dataonly`` (no attributes but ``CONF_STATUS``: a withheld cell without
  its flag would read as a figure nobody reported); ``serieskeysonly`` and ``nodata`` (the series,
  without observations: every RR_STATS attribute is attached to the observation).

A withheld cell has no value (no ``ObsValue`` / ``OBS_VALUE``) and ``CONF_STATUS`` C.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Final, Literal
from xml.sax.saxutils import escape, quoteattr

from recnet.formats.sdmx.observation import ATTRIBUTES, CHUNK_SIZE, SUPPRESSED, Observation
from recnet.schemas.statistics import AGENCY, DATAFLOW_ID, DIMENSIONS, VERSION

GENERIC: Final = "application/vnd.sdmx.genericdata+xml;version=2.1"
STRUCTURE_SPECIFIC: Final = "application/vnd.sdmx.structurespecificdata+xml;version=2.1"

MES: Final = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
COM: Final = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common"
GEN: Final = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/generic"
SS: Final = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/structurespecific"
XSI: Final = "http://www.w3.org/2001/XMLSchema-instance"
STRUCTURE_ID: Final = f"{AGENCY}_{DATAFLOW_ID}_{VERSION.replace('.', '_')}"

Detail = Literal["full", "dataonly", "serieskeysonly", "nodata"]


def structure_namespace(dimension_at_observation: str) -> str:
    """The namespace of the dataflow's structure-specific schema (see ``structure_schema``)."""
    level = (
        "ObsLevelDim:AllDimensions"
        if dimension_at_observation == "AllDimensions"
        else f"ObsLevelDim:{dimension_at_observation}"
    )
    flow = f"{AGENCY}:{DATAFLOW_ID}({VERSION})"
    return f"urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow={flow}:{level}"


def _prepared(prepared: datetime) -> str:
    return prepared.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _header(message_id: str, prepared: datetime, structure: str) -> str:
    return (
        "<message:Header>"
        f"<message:ID>{escape(message_id)}</message:ID>"
        "<message:Test>false</message:Test>"
        f"<message:Prepared>{_prepared(prepared)}</message:Prepared>"
        f'<message:Sender id="{AGENCY}"/>'
        f"{structure}"
        "</message:Header>"
    )


def _usage() -> str:
    return (
        f'<common:StructureUsage><Ref agencyID="{AGENCY}" id="{DATAFLOW_ID}" '
        f'version="{VERSION}"/></common:StructureUsage>'
    )


def _attributes(obs: Observation, detail: str) -> list[tuple[str, str]]:
    """(id, value) of the observation's attributes that are written at this detail."""
    values = {
        "OBS_STATUS": obs.obs_status,
        "UNIT_MEASURE": obs.unit,
        "CONF_STATUS": obs.conf_status,
        "COMMENT": obs.comment or None,
        "SOURCE": obs.source or None,
    }
    keep = ATTRIBUTES if detail == "full" else ("CONF_STATUS",)
    return [(a, v) for a in ATTRIBUTES if a in keep and (v := values[a]) is not None]


def _value(obs: Observation) -> str | None:
    if obs.value is None or obs.conf_status in SUPPRESSED:
        return None
    return str(obs.value)


def _chunked(parts: Iterable[str]) -> Iterator[bytes]:
    buffer: list[str] = []
    size = 0
    for part in parts:
        buffer.append(part)
        size += len(part)
        if size >= CHUNK_SIZE:
            yield "".join(buffer).encode()
            buffer.clear()
            size = 0
    if buffer:
        yield "".join(buffer).encode()


def check_form(dimension_at_observation: str, detail: str) -> None:
    if dimension_at_observation not in ("AllDimensions", *DIMENSIONS):
        raise ValueError("dimensionAtObservation: AllDimensions or a dimension of RR_STATS")
    if detail not in ("full", "dataonly", "serieskeysonly", "nodata"):
        raise ValueError(f"detail {detail!r}")


def _level(dimension_at_observation: str, detail: str) -> str:
    """The observation dimension written: series keys alone need series (by TIME_PERIOD when
    AllDimensions was asked for)."""
    if dimension_at_observation == "AllDimensions" and detail in ("serieskeysonly", "nodata"):
        return "TIME_PERIOD"
    return dimension_at_observation


def _split(key: tuple[str, ...], position: int) -> tuple[tuple[str, ...], str]:
    """A key as (series key, value of the dimension at the observation)."""
    return key[:position] + key[position + 1 :], key[position]


# --- Generic -------------------------------------------------------------------------------------


def generic_data(
    observations: Iterable[Observation],
    *,
    message_id: str,
    prepared: datetime,
    dimension_at_observation: str = "TIME_PERIOD",
    detail: str = "full",
) -> Iterator[bytes]:
    """An SDMX-ML 2.1 generic data message, as UTF-8 chunks."""
    check_form(dimension_at_observation, detail)
    level = _level(dimension_at_observation, detail)
    return _chunked(_generic(observations, message_id, prepared, level, detail))


def _values(tag: str, pairs: Iterable[tuple[str, str]]) -> str:
    inner = "".join(f'<generic:Value id="{i}" value={quoteattr(v)}/>' for i, v in pairs)
    return f"<generic:{tag}>{inner}</generic:{tag}>" if inner else ""


def _generic_obs_tail(obs: Observation, detail: str) -> str:
    value = _value(obs)
    out = f"<generic:ObsValue value={quoteattr(value)}/>" if value is not None else ""
    return out + _values("Attributes", _attributes(obs, detail))


def _generic(
    observations: Iterable[Observation],
    message_id: str,
    prepared: datetime,
    level: str,
    detail: str,
) -> Iterator[str]:
    series = level != "AllDimensions"
    position = DIMENSIONS.index(level) if series else len(DIMENSIONS) - 1
    series_dimensions = DIMENSIONS[:position] + DIMENSIONS[position + 1 :]
    structure = (
        f'<message:Structure structureID="{STRUCTURE_ID}" dimensionAtObservation="{level}">'
        f"{_usage()}</message:Structure>"
    )
    yield (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<message:GenericData xmlns:message="{MES}" xmlns:common="{COM}" '
        f'xmlns:generic="{GEN}">'
        + _header(message_id, prepared, structure)
        + f'<message:DataSet structureRef="{STRUCTURE_ID}" action="Information">'
    )
    keys_only = detail in ("serieskeysonly", "nodata")
    current: tuple[str, ...] | None = None
    for obs in observations:
        if not series:
            key = _values("ObsKey", zip(DIMENSIONS, obs.key, strict=True))
            yield f"<generic:Obs>{key}{_generic_obs_tail(obs, detail)}</generic:Obs>"
            continue
        series_key, at_observation = _split(obs.key, position)
        if series_key != current:
            if current is not None:
                yield "</generic:Series>"
            current = series_key
            yield "<generic:Series>" + _values(
                "SeriesKey", zip(series_dimensions, current, strict=True)
            )
        if not keys_only:
            yield (
                f'<generic:Obs><generic:ObsDimension id="{level}" '
                f"value={quoteattr(at_observation)}/>"
                f"{_generic_obs_tail(obs, detail)}</generic:Obs>"
            )
    if current is not None:
        yield "</generic:Series>"
    yield "</message:DataSet></message:GenericData>"


# --- Structure-specific --------------------------------------------------------------------------


def structure_specific_data(
    observations: Iterable[Observation],
    *,
    message_id: str,
    prepared: datetime,
    dimension_at_observation: str = "TIME_PERIOD",
    detail: str = "full",
) -> Iterator[bytes]:
    """An SDMX-ML 2.1 structure-specific data message, as UTF-8 chunks. Its data set is typed by
    the dataflow's own schema (``/v1/sdmx/schema/dataflow/RECNET/RR_STATS``)."""
    check_form(dimension_at_observation, detail)
    level = _level(dimension_at_observation, detail)
    return _chunked(_structure_specific(observations, message_id, prepared, level, detail))


def _xml_attributes(pairs: Iterable[tuple[str, str]]) -> str:
    return "".join(f" {i}={quoteattr(v)}" for i, v in pairs)


def _ss_obs(obs: Observation, key: Iterable[tuple[str, str]], detail: str) -> str:
    value = _value(obs)
    measure = f" OBS_VALUE={quoteattr(value)}" if value is not None else ""
    return f"<Obs{_xml_attributes(key)}{measure}{_xml_attributes(_attributes(obs, detail))}/>"


def _structure_specific(
    observations: Iterable[Observation],
    message_id: str,
    prepared: datetime,
    level: str,
    detail: str,
) -> Iterator[str]:
    series = level != "AllDimensions"
    position = DIMENSIONS.index(level) if series else len(DIMENSIONS) - 1
    series_dimensions = DIMENSIONS[:position] + DIMENSIONS[position + 1 :]
    namespace = structure_namespace(level)
    structure = (
        f'<message:Structure structureID="{STRUCTURE_ID}" namespace="{namespace}" '
        f'dimensionAtObservation="{level}">{_usage()}</message:Structure>'
    )
    yield (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<message:StructureSpecificData xmlns:message="{MES}" xmlns:common="{COM}" '
        f'xmlns:ss="{SS}" xmlns:xsi="{XSI}" xmlns:ns1="{namespace}">'
        + _header(message_id, prepared, structure)
        + f'<message:DataSet ss:structureRef="{STRUCTURE_ID}" xsi:type="ns1:DataSetType" '
        'ss:dataScope="Dataflow" ss:action="Information">'
    )
    keys_only = detail in ("serieskeysonly", "nodata")
    current: tuple[str, ...] | None = None
    for obs in observations:
        if not series:
            yield _ss_obs(obs, zip(DIMENSIONS, obs.key, strict=True), detail)
            continue
        series_key, at_observation = _split(obs.key, position)
        if series_key != current:
            if current is not None:
                yield "</Series>"
            current = series_key
            yield f"<Series{_xml_attributes(zip(series_dimensions, current, strict=True))}>"
        if not keys_only:
            yield _ss_obs(obs, ((level, at_observation),), detail)
    if current is not None:
        yield "</Series>"
    yield "</message:DataSet></message:StructureSpecificData>"
