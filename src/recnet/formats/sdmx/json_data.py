"""Streaming SDMX-JSON 1.0 and 2.0 data messages of RR_STATS (``sdmx_json``).

The message is flat (``AllDimensions``, every dimension at the observation) or by series
(``TIME_PERIOD`` at the observation). The two versions share the data set, its keys and its
observation arrays; they differ in the envelope (``header`` beside ``dataSets`` and
``structure``, or ``meta`` beside ``data: {dataSets, structures}``) and in a few members of the
structure (see ``JsonState.structure``).

Like every encoder in ``formats.sdmx``, it is a generator of UTF-8 byte chunks of about
``CHUNK_SIZE`` characters, meant for a streaming HTTP response: the first bytes leave before the
last observation is read, and memory stays flat in the number of observations. What is kept is
the small maps of distinct values (dimension codes, periods, comments, sources) that SDMX-JSON
indexes into, and, for the series form only, the observations themselves unless the caller says
they come sorted by series (see ``sdmx_json``).

SDMX-JSON puts the structure after ``dataSets``: its value lists are known only once every
observation has been seen, and JSON member order carries no meaning. sdmx1 (``sdmx.read_sdmx``)
reads the whole document before looking at any member, so the order does not matter to it either.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Final, Literal

from recnet.formats.sdmx.json_state import URN_DATAFLOW, JsonState, JsonVersion
from recnet.formats.sdmx.observation import CHUNK_SIZE, Observation, language_of
from recnet.schemas.statistics import AGENCY, DIMENSIONS

SDMX_JSON: Final = "application/vnd.sdmx.data+json;version=1.0.0"
SDMX_JSON_2: Final = "application/vnd.sdmx.data+json;version=2.0.0"

# The SDMX-JSON schema's pattern for a message id.
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_@$-]+")
# Named in an SDMX-JSON 2.0 message's meta, as the standard recommends: readers (pysdmx among
# them) tell the kind and version of a JSON message by it.
_SCHEMA_2: Final = (
    "https://raw.githubusercontent.com/sdmx-twg/sdmx-json/master/data-message/tools/schemas/"
    "2.0.0/sdmx-json-data-schema.json"
)


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


def _dumps(value: Any) -> str:
    # Cyrillic stays readable (and shorter) as UTF-8 rather than \u escapes.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


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
    language = language_of(lang)
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
    state = JsonState(obs_position)
    out = _Chunks()
    dataset_head: dict[str, Any] = {
        "action": "Information",
        "links": [{"rel": "dataflow", "urn": URN_DATAFLOW}],
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


def _flat(observations: Iterable[Observation], state: JsonState) -> Iterator[str]:
    yield '"observations":{'
    separator = ""
    for obs in observations:
        key = ":".join(str(index.of(v)) for index, v in zip(state.dimensions, obs.key, strict=True))
        yield f'{separator}"{key}":{state.array(obs)}'
        separator = ","
    yield "}"


def _series_key(obs: Observation, state: JsonState) -> str:
    return ":".join(
        str(index.of(v))
        for position, (index, v) in enumerate(zip(state.dimensions, obs.key, strict=True))
        if position != state.obs_position
    )


def _obs_key(obs: Observation, state: JsonState) -> int:
    return state.dimensions[state.obs_position].of(obs.key[state.obs_position])


def _series_streamed(
    observations: Iterable[Observation], state: JsonState, keys_only: bool = False
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


def _series_grouped(observations: Iterable[Observation], state: JsonState) -> Iterator[str]:
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
