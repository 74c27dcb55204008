"""What an SDMX-JSON data message (1.0 or 2.0) keeps while it streams: the distinct values of
each dimension and attribute, which observations refer to by position, and the message's
``structure``, made from them once the last observation has been seen.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final, Literal

from recnet.formats.sdmx.observation import (
    ATTRIBUTES,
    CODED_ATTRIBUTES,
    CODES,
    CONCEPT_NAMES,
    DATAFLOW_NAME,
    STRUCTURE_ID,
    SUPPRESSED,
    Observation,
    code_name,
    code_of,
    free_text,
    name_in,
)
from recnet.schemas.statistics import AGENCY, DIMENSIONS, DSD_ID, VERSION, Code

JsonVersion = Literal["1.0", "2.0"]

URN_DATAFLOW: Final = f"urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow={STRUCTURE_ID}"
_URN_DSD: Final = (
    f"urn:sdmx:org.sdmx.infomodel.datastructure.DataStructure={AGENCY}:{DSD_ID}({VERSION})"
)


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


class JsonState:
    """The value indices of one message: one per dimension, one per attribute."""

    def __init__(self, obs_position: int = len(DIMENSIONS) - 1) -> None:
        # The dimension at the observation in the series form (TIME_PERIOD unless asked).
        self.obs_position = obs_position
        self.dimensions = [_Index() for _ in DIMENSIONS]
        # Coded attributes list their whole (tiny) codelist, so every index is fixed before the
        # first observation and none of them ends up without values (see _attribute_values).
        self.attributes = [_Index(CODES[a]) for a in CODED_ATTRIBUTES] + [_Index(), _Index()]

    def array(self, obs: Observation) -> str:
        """[value, OBS_STATUS, UNIT_MEASURE, CONF_STATUS, COMMENT, SOURCE] as indices."""
        status, unit, conf, comment, source = self.attributes
        value = "null" if obs.value is None or obs.conf_status in SUPPRESSED else str(obs.value)
        return (
            f"[{value},{status.of_optional(obs.obs_status)},{unit.of(obs.unit)},"
            f"{conf.of(obs.conf_status)},{comment.of_optional(free_text(obs.comment))},"
            f"{source.of_optional(free_text(obs.source))}]"
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
                "name": name_in(CONCEPT_NAMES[attribute], lang),
                "names": _names(CONCEPT_NAMES[attribute]),
                "relationship": relationship,
            }
            if values or version == "1.0":
                entry["values"] = values
            attributes.append(entry)
        structure: dict[str, Any] = {
            "name": name_in(DATAFLOW_NAME, lang),
            "names": _names(DATAFLOW_NAME),
            "links": [
                {"rel": "dataflow", "urn": URN_DATAFLOW},
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
            code = code_of(dimension, value)
            if code is None:  # a period, or a code the codelist does not (yet) have
                values.append({"id": value, "name": value})
            else:
                values.append(
                    {"id": value, "name": name_in((code.en, code.ru), lang), "names": _names(code)}
                )
        entry: dict[str, Any] = {
            "id": dimension,
            "name": name_in(CONCEPT_NAMES[dimension], lang),
            "names": _names(CONCEPT_NAMES[dimension]),
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
            if attribute in CODED_ATTRIBUTES:
                # No "names" in 1.0: sdmx1 builds a Code from each coded value's members, and
                # Code has no "names" field (TypeError), so only the best-match "name" is given.
                values = []
                for v in index.positions:
                    code = code_of(attribute, v)
                    value: dict[str, Any] = {"id": v, "name": code_name(attribute, v, lang) or v}
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
        "name": name_in(CONCEPT_NAMES["OBS_VALUE"], lang),
        "names": _names(CONCEPT_NAMES["OBS_VALUE"]),
    }
