"""Streaming encoders of the aggregate statistics (RR_STATS): SDMX-JSON, SDMX-CSV and plain CSV.

- ``sdmx_json``: an SDMX-JSON 1.0 or 2.0 data message, flat (``AllDimensions``, every dimension at
  the observation) or by series (``TIME_PERIOD`` at the observation). The two versions share the
  data set, its keys and its observation arrays; they differ in the envelope (``header`` beside
  ``dataSets`` and ``structure``, or ``meta`` beside ``data: {dataSets, structures}``) and in a few
  members of the structure (see ``_JsonState.structure``).
- ``sdmx_csv``: SDMX-CSV 2.0, one row per observation.
- ``plain_csv``: recnet's own CSV, the same cells without the SDMX bookkeeping columns.

Each encoder is a generator of UTF-8 byte chunks of about ``CHUNK_SIZE`` characters, meant for a
streaming HTTP response: the first bytes leave before the last observation is read, and memory
stays flat in the number of observations. What is kept is the small maps of distinct values
(dimension codes, periods, comments, sources) that SDMX-JSON indexes into, and, for the series form
of SDMX-JSON only, the observations themselves unless the caller says they come sorted by series
(see ``sdmx_json``).

SDMX-JSON puts the structure after ``dataSets``: its value lists are known only once every
observation has been seen, and JSON member order carries no meaning. sdmx1 (``sdmx.read_sdmx``)
reads the whole document before looking at any member, so the order does not matter to it either.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from recnet.schemas.statistics import (
    AGENCY,
    CODELISTS,
    DATAFLOW_ID,
    DIMENSIONS,
    DSD_ID,
    VERSION,
    Code,
)

SDMX_JSON: Final = "application/vnd.sdmx.data+json;version=1.0.0"
SDMX_JSON_2: Final = "application/vnd.sdmx.data+json;version=2.0.0"
SDMX_CSV: Final = "application/vnd.sdmx.data+csv;version=2.0.0"
SDMX_CSV_1: Final = "application/vnd.sdmx.data+csv;version=1.0.0"

# Chunks are handed out once this many characters have collected: large enough that a response
# is not thousands of tiny writes, small enough that nothing sizeable is held back.
CHUNK_SIZE: Final = 32 * 1024

# Observation-level attributes, in the order of the DSD (and of SDMX-CSV columns).
ATTRIBUTES: Final = ("OBS_STATUS", "UNIT_MEASURE", "CONF_STATUS", "COMMENT", "SOURCE")
_CODED_ATTRIBUTES: Final = ("OBS_STATUS", "UNIT_MEASURE", "CONF_STATUS")

PLAIN_CSV_COLUMNS: Final = (
    *DIMENSIONS,
    "OBS_VALUE",
    "OBS_STATUS",
    "CONF_STATUS",
    "UNIT_MEASURE",
    "COMMENT",
    "SOURCE",
)

STRUCTURE_ID: Final = f"{AGENCY}:{DATAFLOW_ID}({VERSION})"
_URN_DATAFLOW: Final = f"urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow={STRUCTURE_ID}"
_URN_DSD: Final = (
    f"urn:sdmx:org.sdmx.infomodel.datastructure.DataStructure={AGENCY}:{DSD_ID}({VERSION})"
)

# Codes and periods: SDMX IDType, minus a leading "@" or "-", which no recnet code has and which
# a spreadsheet could read as the start of a formula.
_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_@$-]*")
# The SDMX-JSON schema's pattern for a message id.
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_@$-]+")
# Named in an SDMX-JSON 2.0 message's meta, as the standard recommends: readers (pysdmx among
# them) tell the kind and version of a JSON message by it.
_SCHEMA_2: Final = (
    "https://raw.githubusercontent.com/sdmx-twg/sdmx-json/master/data-message/tools/schemas/"
    "2.0.0/sdmx-json-data-schema.json"
)
JsonVersion = Literal["1.0", "2.0"]

_CODES: Final = {name: {c.id: c for c in cl.codes} for name, cl in CODELISTS.items()}
_OBS_STATUS: Final = frozenset(_CODES["OBS_STATUS"])
_CONF_STATUS: Final = frozenset(_CODES["CONF_STATUS"])
# CONF_STATUS of cells withheld by disclosure control: primary (C) and secondary (D).
SUPPRESSED: Final = frozenset({"C", "D"})

# Names of the dataflow and its components (statistics.py names only the codelists).
_DATAFLOW_NAME: Final = (
    "Repatriation, rehabilitation and reintegration statistics",
    "Статистика репатриации, реабилитации и реинтеграции",
)
_CONCEPT_NAMES: Final = {
    "REF_AREA": ("Reference area", "Отчётная территория"),
    "INDICATOR": ("Indicator", "Показатель"),
    "SEX": ("Sex", "Пол"),
    "AGE": ("Age", "Возраст"),
    "COUNTERPART_AREA": ("Country returned from", "Страна, из которой вернулись"),
    "TIME_PERIOD": ("Time period", "Отчётный период"),
    "OBS_VALUE": ("Observation value", "Значение"),
    "OBS_STATUS": ("Observation status", "Статус наблюдения"),
    "UNIT_MEASURE": ("Unit of measure", "Единица измерения"),
    "CONF_STATUS": ("Confidentiality status", "Статус конфиденциальности"),
    "COMMENT": ("Comment", "Комментарий"),
    "SOURCE": ("Source", "Источник"),
}

# OWASP's list of characters that make a spreadsheet treat a cell as a formula.
FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Observation:
    """One published cell of RR_STATS.

    Checked on construction, so that a bad cell fails where it is made rather than half-way
    through a response, and so that no encoder can publish a withheld value.
    """

    key: tuple[str, str, str, str, str, str]  # values in DIMENSIONS order
    value: int | None  # None when suppressed for confidentiality
    obs_status: str | None  # A, E, P
    conf_status: str  # F, C, D
    unit: str = "PS"
    comment: str | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        if len(self.key) != len(DIMENSIONS) or not all(
            isinstance(v, str) and _ID.fullmatch(v) for v in self.key
        ):
            raise ValueError(f"invalid key {self.key!r}: six codes in DIMENSIONS order")
        if self.value is not None and (
            isinstance(self.value, bool) or not isinstance(self.value, int) or self.value < 0
        ):
            raise ValueError(f"invalid value {self.value!r}: a count of persons, or None")
        if self.conf_status not in _CONF_STATUS:
            raise ValueError(f"invalid CONF_STATUS {self.conf_status!r}")
        if self.conf_status in SUPPRESSED and self.value is not None:
            raise ValueError(
                f"cell {self.key!r} is withheld (CONF_STATUS {self.conf_status}): no value"
            )
        if self.obs_status is not None and self.obs_status not in _OBS_STATUS:
            raise ValueError(f"invalid OBS_STATUS {self.obs_status!r}")
        if not _ID.fullmatch(self.unit):
            raise ValueError(f"invalid UNIT_MEASURE {self.unit!r}")


# --- shared helpers ------------------------------------------------------------------------------


def _lang(lang: str) -> Literal["en", "ru"]:
    """'ru', 'ru-RU', 'RU' → 'ru'; anything else falls back to English."""
    return "ru" if lang.split("-")[0].lower() == "ru" else "en"


def _name(pair: tuple[str, str], lang: Literal["en", "ru"]) -> str:
    return pair[1] if lang == "ru" and pair[1] else pair[0]


def _code(component: str, value: str) -> Code | None:
    codes = _CODES.get(component)
    return codes.get(value) if codes else None


def _code_name(component: str, value: str, lang: Literal["en", "ru"]) -> str | None:
    code = _code(component, value)
    return None if code is None else _name((code.en, code.ru), lang)


def _text(value: str | None) -> str | None:
    """Free text as published: an empty string is no text."""
    return value or None


def neutralise(cell: str) -> str:
    """A CSV cell that a spreadsheet will not evaluate: a leading apostrophe defuses a formula."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


class _Chunks:
    """Collects text and hands it out as UTF-8 chunks of about CHUNK_SIZE characters.

    ``add`` only collects; the writer asks ``full`` and ``take``s. (``add`` used to hand back a
    chunk when the buffer filled, and a caller that dropped that return value lost the chunk:
    the SDMX-JSON message lost its end, or came back empty.)
    """

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._size = 0

    def add(self, text: str) -> None:
        self._parts.append(text)
        self._size += len(text)

    @property
    def full(self) -> bool:
        return self._size >= CHUNK_SIZE

    def take(self) -> bytes:
        chunk = "".join(self._parts).encode()
        self._parts.clear()
        self._size = 0
        return chunk


class _Index:
    """Distinct values in order of first appearance: SDMX-JSON refers to them by position."""

    def __init__(self, seed: Iterable[str] = ()) -> None:
        self.positions: dict[str, int] = {}
        for value in seed:
            self.of(value)

    def of(self, value: str) -> int:
        position = self.positions.get(value)
        if position is None:
            position = self.positions[value] = len(self.positions)
        return position

    def of_optional(self, value: str | None) -> str:
        return "null" if value is None else str(self.of(value))


# --- SDMX-JSON -----------------------------------------------------------------------------------


def _dumps(value: Any) -> str:
    # Cyrillic stays readable (and shorter) as UTF-8 rather than \u escapes.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class _JsonState:
    """The value indices of one message: one per dimension, one per attribute."""

    def __init__(self, obs_position: int = len(DIMENSIONS) - 1) -> None:
        # The dimension at the observation in the series form (TIME_PERIOD unless asked).
        self.obs_position = obs_position
        self.dimensions = [_Index() for _ in DIMENSIONS]
        # Coded attributes list their whole (tiny) codelist, so every index is fixed before the
        # first observation and none of them ends up without values (see _attribute_values).
        self.attributes = [_Index(_CODES[a]) for a in _CODED_ATTRIBUTES] + [_Index(), _Index()]

    def array(self, obs: Observation) -> str:
        """[value, OBS_STATUS, UNIT_MEASURE, CONF_STATUS, COMMENT, SOURCE] as indices."""
        status, unit, conf, comment, source = self.attributes
        value = "null" if obs.value is None or obs.conf_status in SUPPRESSED else str(obs.value)
        return (
            f"[{value},{status.of_optional(obs.obs_status)},{unit.of(obs.unit)},"
            f"{conf.of(obs.conf_status)},{comment.of_optional(_text(obs.comment))},"
            f"{source.of_optional(_text(obs.source))}]"
        )

    def structure(
        self, lang: Literal["en", "ru"], series: bool, version: JsonVersion = "1.0"
    ) -> dict[str, Any]:
        """The message's structure. 2.0 adds the data sets it describes and the measure
        (OBS_VALUE, first in every observation array in both versions), relates attributes to the
        ``observation`` (1.0's ``primaryMeasure`` is deprecated there), and leaves out the values
        of an attribute nobody used (2.0 wants at least one value where values are listed)."""
        dimensions = [
            self._dimension(position, index, lang) for position, index in enumerate(self.dimensions)
        ]
        relationship: dict[str, Any] = (
            {"primaryMeasure": "OBS_VALUE"} if version == "1.0" else {"observation": {}}
        )
        attributes = []
        for attribute, values in zip(
            ATTRIBUTES, self._attribute_values(lang, version), strict=True
        ):
            entry: dict[str, Any] = {
                "id": attribute,
                "name": _name(_CONCEPT_NAMES[attribute], lang),
                "names": _names(_CONCEPT_NAMES[attribute]),
                "relationship": relationship,
            }
            if values or version == "1.0":
                entry["values"] = values
            attributes.append(entry)
        structure: dict[str, Any] = {
            "name": _name(_DATAFLOW_NAME, lang),
            "names": _names(_DATAFLOW_NAME),
            "links": [
                {"rel": "dataflow", "urn": _URN_DATAFLOW},
                {"rel": "datastructure", "urn": _URN_DSD},
            ],
            "dimensions": {
                "dataSet": [],
                "series": (
                    [d for i, d in enumerate(dimensions) if i != self.obs_position]
                    if series
                    else []
                ),
                "observation": [dimensions[self.obs_position]] if series else dimensions,
            },
            "attributes": {"dataSet": [], "series": [], "observation": attributes},
        }
        if version == "2.0":
            structure["dataSets"] = [0]
            structure["measures"] = {"observation": [_measure(lang)]}
        return structure

    def _dimension(self, position: int, index: _Index, lang: Literal["en", "ru"]) -> dict[str, Any]:
        dimension = DIMENSIONS[position]
        values: list[dict[str, Any]] = []
        for value in index.positions:
            code = _code(dimension, value)
            if code is None:  # a period, or a code the codelist does not (yet) have
                values.append({"id": value, "name": value})
            else:
                values.append(
                    {"id": value, "name": _name((code.en, code.ru), lang), "names": _names(code)}
                )
        entry: dict[str, Any] = {
            "id": dimension,
            "name": _name(_CONCEPT_NAMES[dimension], lang),
            "names": _names(_CONCEPT_NAMES[dimension]),
            "keyPosition": position,
            "values": values,
        }
        if dimension == "TIME_PERIOD":
            entry["roles"] = ["TIME_PERIOD"]
        return entry

    def _attribute_values(
        self, lang: Literal["en", "ru"], version: JsonVersion
    ) -> list[list[dict[str, Any]]]:
        result: list[list[dict[str, Any]]] = []
        for attribute, index in zip(ATTRIBUTES, self.attributes, strict=True):
            if attribute in _CODED_ATTRIBUTES:
                # No "names" in 1.0: sdmx1 builds a Code from each coded value's members, and
                # Code has no "names" field (TypeError), so only the best-match "name" is given.
                values = []
                for v in index.positions:
                    code = _code(attribute, v)
                    value: dict[str, Any] = {"id": v, "name": _code_name(attribute, v, lang) or v}
                    if version == "2.0" and code is not None:
                        value["names"] = _names(code)
                    values.append(value)
                result.append(values)
            else:
                # Free text: 1.0 gives it as a name, 2.0 as a value.
                member = "name" if version == "1.0" else "value"
                result.append([{member: v} for v in index.positions])
        if version == "2.0":
            return result
        # sdmx1 drops an attribute that has no values (khaeru/sdmx#64) and then pairs the indices
        # of every later attribute with the wrong one. So a free-text attribute nobody used, when
        # a later one was used, lists one empty text that no observation refers to.
        for position in range(len(result) - 1):
            if not result[position] and any(result[position + 1 :]):
                result[position] = [{"name": ""}]
        return result


def _names(labels: Code | tuple[str, str]) -> dict[str, str]:
    en, ru = (labels.en, labels.ru) if isinstance(labels, Code) else labels
    return {"en": en, "ru": ru} if ru else {"en": en}


def _measure(lang: Literal["en", "ru"]) -> dict[str, Any]:
    return {
        "id": "OBS_VALUE",
        "name": _name(_CONCEPT_NAMES["OBS_VALUE"], lang),
        "names": _names(_CONCEPT_NAMES["OBS_VALUE"]),
    }


def sdmx_json(
    observations: Iterable[Observation],
    *,
    message_id: str,
    prepared: datetime,
    lang: str = "en",
    dimension_at_observation: str = "AllDimensions",
    sorted_by_series: bool = False,
    series_keys_only: bool = False,
    version: JsonVersion = "1.0",
) -> Iterator[bytes]:
    """An SDMX-JSON data message of the observations, as UTF-8 chunks: ``version`` 1.0 (the
    default) or 2.0, the same data set in either.

    ``dimension_at_observation``:

    - ``"AllDimensions"`` (default): the flat form, ``dataSets[0].observations`` keyed by the
      indices of all six dimension values. Memory is flat in the number of observations.
    - ``"TIME_PERIOD"`` (or another dimension): the series form, ``dataSets[0].series`` keyed by
      the other five dimensions, each with ``observations`` keyed by the index of the value of
      the dimension at the observation. A series must be one
      JSON member, so its observations must be together: with ``sorted_by_series=True`` the caller
      promises they come grouped by series (e.g. ``ORDER BY`` the first five dimensions) and the
      message streams; a series that reappears later raises ``ValueError`` mid-stream. Otherwise
      the encoded observations are grouped in memory before being written (a few dozen bytes
      each), so memory grows with the number of observations.

    ``series_keys_only`` (SDMX's ``detail=serieskeysonly``): the series form, each series with
    no observations (the observations must come sorted by series); the dimension at the
    observation still lists the values the series have.

    SDMX-JSON 2.0 wants at least one value for each dimension, so a 2.0 message of no
    observations cannot be made: it raises ``ValueError`` before its first chunk (the service
    answers such a query 404 before it encodes anything).

    Keys must be unique; names are in ``lang`` (``en`` or ``ru``, anything else gives English),
    with both languages in ``names``. Arguments are checked before the first chunk is made.
    """
    if dimension_at_observation not in ("AllDimensions", *DIMENSIONS):
        raise ValueError(
            f"dimensionAtObservation {dimension_at_observation!r}: "
            "'AllDimensions' or a dimension of RR_STATS"
        )
    if not _MESSAGE_ID.fullmatch(message_id):
        raise ValueError(f"invalid message id {message_id!r}: letters, digits, _ @ $ -")
    if prepared.tzinfo is None:
        raise ValueError("prepared must be timezone-aware: SDMX-JSON requires a time zone")
    if version not in ("1.0", "2.0"):
        raise ValueError(f"SDMX-JSON version {version!r}: '1.0' or '2.0'")
    language = _lang(lang)
    header: dict[str, Any] = {
        "id": message_id,
        "test": False,
        "prepared": prepared.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "sender": {"id": AGENCY},
    }
    if version == "2.0":
        # The languages of the names, the one asked for first.
        languages = ["ru", "en"] if language == "ru" else ["en", "ru"]
        header = {"schema": _SCHEMA_2, **header, "contentLanguages": languages}
    return _sdmx_json(
        observations,
        header=header,
        version=version,
        lang=language,
        series=dimension_at_observation != "AllDimensions" or series_keys_only,
        obs_position=DIMENSIONS.index(dimension_at_observation)
        if dimension_at_observation in DIMENSIONS
        else len(DIMENSIONS) - 1,
        sorted_by_series=sorted_by_series or series_keys_only,
        keys_only=series_keys_only,
    )


def _sdmx_json(
    observations: Iterable[Observation],
    *,
    header: dict[str, Any],
    version: JsonVersion,
    lang: Literal["en", "ru"],
    series: bool,
    sorted_by_series: bool,
    keys_only: bool = False,
    obs_position: int = len(DIMENSIONS) - 1,
) -> Iterator[bytes]:
    state = _JsonState(obs_position)
    out = _Chunks()
    dataset_head: dict[str, Any] = {
        "action": "Information",
        "links": [{"rel": "dataflow", "urn": _URN_DATAFLOW}],
    }
    if version == "2.0":
        # 1.0 has one structure; 2.0 a list of them, which each data set points into.
        dataset_head = {"structure": 0, **dataset_head}
        out.add(f'{{"meta":{_dumps(header)},"data":{{')
    else:
        out.add(f'{{"header":{_dumps(header)},')
    # The data set object is written open-ended: its head, then the observations or series.
    out.add(f'"dataSets":[{_dumps(dataset_head)[:-1]},')
    if not series:
        parts: Iterator[str] = _flat(observations, state)
    elif sorted_by_series:
        parts = _series_streamed(observations, state, keys_only)
    else:
        parts = _series_grouped(observations, state)
    for part in parts:
        out.add(part)
        if out.full:
            yield out.take()
    structure = _dumps(state.structure(lang, series, version))
    if version == "1.0":
        out.add(f'}}],"structure":{structure}}}')
    elif not state.dimensions[0].positions:
        raise ValueError("an SDMX-JSON 2.0 message needs at least one observation")
    else:
        out.add(f'}}],"structures":[{structure}]}}}}')
    yield out.take()


def _flat(observations: Iterable[Observation], state: _JsonState) -> Iterator[str]:
    yield '"observations":{'
    separator = ""
    for obs in observations:
        key = ":".join(str(index.of(v)) for index, v in zip(state.dimensions, obs.key, strict=True))
        yield f'{separator}"{key}":{state.array(obs)}'
        separator = ","
    yield "}"


def _series_key(obs: Observation, state: _JsonState) -> str:
    return ":".join(
        str(index.of(v))
        for position, (index, v) in enumerate(zip(state.dimensions, obs.key, strict=True))
        if position != state.obs_position
    )


def _obs_key(obs: Observation, state: _JsonState) -> int:
    return state.dimensions[state.obs_position].of(obs.key[state.obs_position])


def _series_streamed(
    observations: Iterable[Observation], state: _JsonState, keys_only: bool = False
) -> Iterator[str]:
    yield '"series":{'
    current: str | None = None
    # Series already closed: as many as distinct first-five-dimension keys, not observations.
    closed: set[str] = set()
    separator = ""
    for obs in observations:
        key = _series_key(obs, state)
        if key != current:
            if current is not None:
                closed.add(current)
                yield "}},"
            if key in closed:
                raise ValueError(f"series {key!r} reappears: observations are not sorted by series")
            yield f'"{key}":{{"observations":{{'
            current, separator = key, ""
        if keys_only:
            _obs_key(obs, state)  # not written, but listed among the dimension's values
            continue
        yield f'{separator}"{_obs_key(obs, state)}":{state.array(obs)}'
        separator = ","
    yield "}}}" if current is not None else "}"


def _series_grouped(observations: Iterable[Observation], state: _JsonState) -> Iterator[str]:
    # Grouping needs every observation before the first series can be closed: the encoded
    # members are kept (not the Observation objects), the cost of accepting any order.
    groups: dict[str, list[str]] = {}
    for obs in observations:
        member = f'"{_obs_key(obs, state)}":{state.array(obs)}'
        groups.setdefault(_series_key(obs, state), []).append(member)
    yield '"series":{'
    separator = ""
    while groups:
        # Popping as we go hands each series' memory back once it is written.
        key = next(iter(groups))
        members = groups.pop(key)
        yield f'{separator}"{key}":{{"observations":{{{",".join(members)}}}}}'
        separator = ","
    yield "}"


# --- CSV -----------------------------------------------------------------------------------------


def _csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> Iterator[bytes]:
    # RFC 4180 (CRLF, quoting when needed) via the csv module, on a buffer emptied per chunk.
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
        if buffer.tell() >= CHUNK_SIZE:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def _cells(obs: Observation) -> dict[str, str]:
    value = "" if obs.value is None or obs.conf_status in SUPPRESSED else str(obs.value)
    return {
        **dict(zip(DIMENSIONS, obs.key, strict=True)),
        "OBS_VALUE": value,
        "OBS_STATUS": obs.obs_status or "",
        "UNIT_MEASURE": obs.unit,
        "CONF_STATUS": obs.conf_status,
        "COMMENT": _text(obs.comment) or "",
        "SOURCE": _text(obs.source) or "",
    }


def csv_with_header(lines: Iterable[bytes]) -> Iterator[bytes]:
    """The plain CSV's header, then ``lines`` (CSV rows already encoded, e.g. by ``copy_csv``)."""
    yield (",".join(PLAIN_CSV_COLUMNS) + "\r\n").encode()
    yield from lines


def sdmx_csv(
    observations: Iterable[Observation], *, labels: bool = False, lang: str = "en"
) -> Iterator[bytes]:
    """SDMX-CSV 2.0 of the observations, as UTF-8 chunks (no byte-order mark: SDMX readers
    expect the first header cell to be exactly ``STRUCTURE``).

    Columns: STRUCTURE, STRUCTURE_ID, ACTION, the dimensions, OBS_VALUE (empty when withheld),
    the attributes. ``labels=True`` is SDMX-CSV's ``labels=name``: a STRUCTURE_NAME column after
    STRUCTURE_ID, and after each component a column headed by its name in ``lang`` holding the
    name of the code (empty for uncoded components).
    """
    language = _lang(lang)
    components = (*DIMENSIONS, "OBS_VALUE", *ATTRIBUTES)
    header = ["STRUCTURE", "STRUCTURE_ID"]
    if labels:
        header.append("STRUCTURE_NAME")
    header.append("ACTION")
    for component in components:
        header.append(component)
        if labels:
            header.append(_name(_CONCEPT_NAMES[component], language))
    dataflow_name = _name(_DATAFLOW_NAME, language)

    def rows() -> Iterator[list[str]]:
        for obs in observations:
            cells = _cells(obs)
            row = ["dataflow", STRUCTURE_ID, *([dataflow_name] if labels else []), "I"]
            for component in components:
                row.append(cells[component])
                if labels:
                    row.append(_code_name(component, cells[component], language) or "")
            yield row

    return _csv(header, rows())


def sdmx_csv_1(observations: Iterable[Observation]) -> Iterator[bytes]:
    """SDMX-CSV 1.0 of the observations, as UTF-8 chunks: DATAFLOW (``RECNET:RR_STATS(1.0)``),
    the dimensions, OBS_VALUE (empty when withheld), the attributes."""
    components = (*DIMENSIONS, "OBS_VALUE", *ATTRIBUTES)
    return _csv(
        ("DATAFLOW", *components),
        ([STRUCTURE_ID, *(cells[c] for c in components)] for cells in map(_cells, observations)),
    )


def plain_csv(observations: Iterable[Observation]) -> Iterator[bytes]:
    """recnet's own CSV of the observations (columns ``PLAIN_CSV_COLUMNS``), as UTF-8 chunks."""
    return _csv(
        PLAIN_CSV_COLUMNS,
        ([cells[c] for c in PLAIN_CSV_COLUMNS] for cells in map(_cells, observations)),
    )
