"""SDMX-JSON 1.0 structure messages of the artefacts ``services.sdmx_structures`` selects
(``structure_json``). The tests hold the output to the SDMX-JSON 1.0 structure schema and read it
back with sdmx1 and pysdmx.

Stubs (``detail=allstubs`` and the like) are written as external references (a link to the query
for the full artefact) with their names; complete stubs with their descriptions too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, Literal

from recnet.formats.sdmx.artefacts import (
    KINDS,
    item_urn,
    prepared_time,
    sorted_names,
    structure_url,
    urn,
)
from recnet.schemas.catalogues import language_of
from recnet.schemas.statistics import AGENCY, CODELISTS, DIMENSIONS, DSD_ID, VERSION
from recnet.schemas.statistics_sdmx import (
    ATTRIBUTE_CODELISTS,
    CONCEPT_SCHEME_ID,
    MEASURE,
    VALID_FROM,
    Availability,
    Names,
    Selected,
    ordered,
)

SDMX_JSON_STRUCTURE: Final = "application/vnd.sdmx.structure+json;version=1.0.0"


def _concept_urn(concept: str) -> str:
    return item_urn("conceptscheme", AGENCY, CONCEPT_SCHEME_ID, VERSION, concept)


def _codelist_urn(codelist: str) -> str:
    return urn("codelist", AGENCY, codelist, VERSION)


def _best(names: Names, lang: str) -> str:
    return names.get(lang) or names.get("en") or next(iter(names.values()))


def _nameable(names: Names, descriptions: Names, lang: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": _best(names, lang), "names": dict(sorted_names(names))}
    if descriptions:
        out["description"] = _best(descriptions, lang)
        out["descriptions"] = dict(sorted_names(descriptions))
    return out


def _dsd_json() -> dict[str, Any]:
    dimensions: list[dict[str, Any]] = []
    time: list[dict[str, Any]] = []
    for position, dimension in enumerate(DIMENSIONS):
        entry: dict[str, Any] = {
            "id": dimension,
            "position": position,
            "conceptIdentity": _concept_urn(dimension),
        }
        if dimension == "TIME_PERIOD":
            entry["type"] = "TimeDimension"
            entry["localRepresentation"] = {"textFormat": {"textType": "ObservationalTimePeriod"}}
            time.append(entry)
        else:
            entry["type"] = "Dimension"
            entry["localRepresentation"] = {"enumeration": _codelist_urn(CODELISTS[dimension].id)}
            dimensions.append(entry)
    attributes = []
    for attribute, codelist in ATTRIBUTE_CODELISTS.items():
        representation: dict[str, Any] = (
            {"enumeration": _codelist_urn(codelist)}
            if codelist
            else {
                "textFormat": {
                    "textType": "String",
                    "maxLength": 500 if attribute == "COMMENT" else 200,
                }
            }
        )
        attributes.append(
            {
                "id": attribute,
                "assignmentStatus": (
                    "Mandatory" if attribute in ("UNIT_MEASURE", "CONF_STATUS") else "Conditional"
                ),
                "attributeRelationship": {"primaryMeasure": MEASURE},
                "conceptIdentity": _concept_urn(attribute),
                "localRepresentation": representation,
            }
        )
    return {
        "dimensionList": {
            "id": "DimensionDescriptor",
            "dimensions": dimensions,
            "timeDimensions": time,
        },
        "attributeList": {"id": "AttributeDescriptor", "attributes": attributes},
        "measureList": {
            "id": "MeasureDescriptor",
            "primaryMeasure": {
                "id": MEASURE,
                "conceptIdentity": _concept_urn(MEASURE),
                "localRepresentation": {"textFormat": {"textType": "Integer", "minValue": 0}},
            },
        },
    }


_JSON_ITEMS: Final = {
    "agencyscheme": "agencies",
    "dataproviderscheme": "dataProviders",
    "codelist": "codes",
    "conceptscheme": "concepts",
}


def _artefact_json(selected: Selected, lang: str, base: str) -> dict[str, Any]:
    a = selected.artefact
    stub = selected.stub
    out: dict[str, Any] = {
        "id": a.id,
        "urn": urn(a.kind, a.agency, a.id, a.version),
        "agencyID": a.agency,
        "version": a.version,
        **_nameable(a.names, {} if stub == "stub" else a.descriptions, lang),
        "isFinal": a.final,
    }
    if a.final:
        out["validFrom"] = VALID_FROM
    if stub:
        out["isExternalReference"] = True
        out["links"] = [{"href": structure_url(base, a), "rel": "external"}]
        return out
    if a.kind in _JSON_ITEMS:
        if selected.partial:
            out["isPartial"] = True
        out[_JSON_ITEMS[a.kind]] = [
            {
                "id": item.id,
                "urn": item_urn(a.kind, a.agency, a.id, a.version, item.id),
                **_nameable(item.names, item.descriptions, lang),
            }
            for item in selected.items
        ]
    elif a.kind == "dataflow":
        out["structure"] = urn("datastructure", AGENCY, DSD_ID, VERSION)
    elif a.kind == "datastructure":
        out["dataStructureComponents"] = _dsd_json()
    elif a.kind == "contentconstraint" and selected.availability is not None:
        out.update(_constraint_json(selected.availability))
    return out


def _constraint_json(availability: Availability) -> dict[str, Any]:
    key_values: list[dict[str, Any]] = [
        {"id": dimension, "values": list(codes)} for dimension, codes in availability.values.items()
    ]
    if availability.time_range is not None:
        start, end = availability.time_range
        key_values.append(
            {
                "id": "TIME_PERIOD",
                "timeRange": {
                    "startPeriod": {"period": start, "isInclusive": True},
                    "endPeriod": {"period": end, "isInclusive": True},
                },
            }
        )
    return {
        "annotations": [
            {"id": "series_count", "title": str(availability.series_count), "type": "sdmx_metrics"},
            {"id": "obs_count", "title": str(availability.obs_count), "type": "sdmx_metrics"},
        ],
        "type": "Actual",
        "constraintAttachment": {"dataflows": [urn("dataflow", AGENCY, DSD_ID, VERSION)]},
        "cubeRegions": [{"isIncluded": True, "keyValues": key_values}],
    }


def structure_json(
    selection: Sequence[Selected],
    *,
    message_id: str,
    prepared: datetime,
    base: str,
    lang: Literal["en", "ru"] | str = "en",
) -> bytes:
    """An SDMX-JSON 1.0 structure message of the selected artefacts."""
    # Any of the region's seven languages the catalogues hold; English for any other.
    language = language_of(lang)
    data: dict[str, list[dict[str, Any]]] = {}
    for selected in ordered(selection):
        member = KINDS[selected.artefact.kind][4]
        data.setdefault(member, []).append(_artefact_json(selected, language, base))
    message = {
        "meta": {
            "id": message_id,
            "test": False,
            "prepared": prepared_time(prepared),
            "contentLanguages": [language, *(["en"] if language != "en" else [])],
            "sender": {"id": AGENCY},
        },
        "data": data,
    }
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
