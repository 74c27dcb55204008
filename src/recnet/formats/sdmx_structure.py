"""SDMX structure messages of the artefacts ``services.sdmx_structures`` selects: SDMX-ML 2.1
(``structure_xml``) and SDMX-JSON 1.0 (``structure_json``).

Written with the standard library's ElementTree: the messages are small (a few dozen KiB at most)
and fixed in shape, and a writer of our own keeps a heavy SDMX library (and pandas under it) out
of the running service. The tests hold the output to the official SDMX-ML 2.1 XSDs and the
SDMX-JSON 1.0 structure schema, and read it back with sdmx1 and pysdmx.

Stubs (``detail=allstubs`` and the like) are written as external references
(``isExternalReference``, ``structureURL`` the query for the full artefact) with their names;
complete stubs with their descriptions too.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final, Literal

from recnet.schemas.statistics import AGENCY, CODELISTS, DIMENSIONS, DSD_ID, VERSION
from recnet.schemas.statistics_sdmx import (
    ATTRIBUTE_CODELISTS,
    CONCEPT_SCHEME_ID,
    MEASURE,
    VALID_FROM,
    Artefact,
    Availability,
    Names,
    Selected,
    ordered,
)

SDMX_ML_STRUCTURE: Final = "application/vnd.sdmx.structure+xml;version=2.1"
SDMX_JSON_STRUCTURE: Final = "application/vnd.sdmx.structure+json;version=1.0.0"

MES: Final = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
STR: Final = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure"
COM: Final = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common"
XML_LANG: Final = "{http://www.w3.org/XML/1998/namespace}lang"
NAMESPACES: Final = {"message": MES, "structure": STR, "common": COM}

# Per kind: the URN package and class, the SDMX-ML container and element, the SDMX-JSON member
# and the name of an item's element.
_KINDS: Final[dict[str, tuple[str, str, str, str, str, str]]] = {
    "agencyscheme": ("base", "AgencyScheme", "", "AgencyScheme", "agencySchemes", "Agency"),
    "dataproviderscheme": (
        "base",
        "DataProviderScheme",
        "",
        "DataProviderScheme",
        "dataProviderSchemes",
        "DataProvider",
    ),
    "dataflow": ("datastructure", "Dataflow", "Dataflows", "Dataflow", "dataflows", ""),
    "codelist": ("codelist", "Codelist", "Codelists", "Codelist", "codelists", "Code"),
    "conceptscheme": (
        "conceptscheme",
        "ConceptScheme",
        "Concepts",
        "ConceptScheme",
        "conceptSchemes",
        "Concept",
    ),
    "datastructure": (
        "datastructure",
        "DataStructure",
        "DataStructures",
        "DataStructure",
        "dataStructures",
        "",
    ),
    "contentconstraint": (
        "registry",
        "ContentConstraint",
        "Constraints",
        "ContentConstraint",
        "contentConstraints",
        "",
    ),
}
_ITEM_CLASS: Final = {
    "agencyscheme": "Agency",
    "dataproviderscheme": "DataProvider",
    "codelist": "Code",
    "conceptscheme": "Concept",
}


def urn(kind: str, agency: str, id_: str, version: str) -> str:
    package, cls = _KINDS[kind][:2]
    return f"urn:sdmx:org.sdmx.infomodel.{package}.{cls}={agency}:{id_}({version})"


def item_urn(kind: str, agency: str, scheme: str, version: str, item: str) -> str:
    package = _KINDS[kind][0]
    return (
        f"urn:sdmx:org.sdmx.infomodel.{package}.{_ITEM_CLASS[kind]}="
        f"{agency}:{scheme}({version}).{item}"
    )


def _concept_urn(concept: str) -> str:
    return item_urn("conceptscheme", AGENCY, CONCEPT_SCHEME_ID, VERSION, concept)


def _codelist_urn(codelist: str) -> str:
    return urn("codelist", AGENCY, codelist, VERSION)


def _prepared(prepared: datetime) -> str:
    return prepared.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _sorted_names(names: Names) -> list[tuple[str, str]]:
    return sorted(names.items(), key=lambda kv: (kv[0] != "en", kv[0]))


def _best(names: Names, lang: str) -> str:
    return names.get(lang) or names.get("en") or next(iter(names.values()))


def structure_url(base: str, a: Artefact) -> str:
    return f"{base}/{a.kind}/{a.agency}/{a.id}/{a.version}"


# --- SDMX-ML 2.1 ---------------------------------------------------------------------------------


def _sub(parent: ET.Element, tag: str, attributes: dict[str, str] | None = None) -> ET.Element:
    return ET.SubElement(parent, tag, attributes or {})


def _names_xml(parent: ET.Element, names: Names, tag: str = "Name") -> None:
    for lang, text in _sorted_names(names):
        element = _sub(parent, f"{{{COM}}}{tag}", {XML_LANG: lang})
        element.text = text


def _ref(parent: ET.Element, tag: str, attributes: dict[str, str]) -> None:
    wrapper = _sub(parent, tag)
    _sub(wrapper, "Ref", attributes)


def _concept_identity(parent: ET.Element, concept: str) -> None:
    _ref(
        parent,
        f"{{{STR}}}ConceptIdentity",
        {
            "id": concept,
            "maintainableParentID": CONCEPT_SCHEME_ID,
            "maintainableParentVersion": VERSION,
            "agencyID": AGENCY,
            "package": "conceptscheme",
            "class": "Concept",
        },
    )


def _enumeration(parent: ET.Element, codelist: str) -> None:
    representation = _sub(parent, f"{{{STR}}}LocalRepresentation")
    _ref(
        representation,
        f"{{{STR}}}Enumeration",
        {
            "id": codelist,
            "version": VERSION,
            "agencyID": AGENCY,
            "package": "codelist",
            "class": "Codelist",
        },
    )


def _text_format(parent: ET.Element, attributes: dict[str, str]) -> None:
    representation = _sub(parent, f"{{{STR}}}LocalRepresentation")
    _sub(representation, f"{{{STR}}}TextFormat", attributes)


def _dsd_components(parent: ET.Element) -> None:
    components = _sub(parent, f"{{{STR}}}DataStructureComponents")
    dimensions = _sub(components, f"{{{STR}}}DimensionList", {"id": "DimensionDescriptor"})
    for position, dimension in enumerate(DIMENSIONS, start=1):
        is_time = dimension == "TIME_PERIOD"
        element = _sub(
            dimensions,
            f"{{{STR}}}{'TimeDimension' if is_time else 'Dimension'}",
            {"id": dimension, "position": str(position)},
        )
        _concept_identity(element, dimension)
        if is_time:
            _text_format(element, {"textType": "ObservationalTimePeriod"})
        else:
            _enumeration(element, CODELISTS[dimension].id)
    attributes = _sub(components, f"{{{STR}}}AttributeList", {"id": "AttributeDescriptor"})
    for attribute, codelist in ATTRIBUTE_CODELISTS.items():
        status = "Mandatory" if attribute in ("UNIT_MEASURE", "CONF_STATUS") else "Conditional"
        element = _sub(
            attributes, f"{{{STR}}}Attribute", {"id": attribute, "assignmentStatus": status}
        )
        _concept_identity(element, attribute)
        if codelist:
            _enumeration(element, codelist)
        else:
            limit = "500" if attribute == "COMMENT" else "200"
            _text_format(element, {"textType": "String", "maxLength": limit})
        relationship = _sub(element, f"{{{STR}}}AttributeRelationship")
        _ref(relationship, f"{{{STR}}}PrimaryMeasure", {"id": MEASURE})
    measures = _sub(components, f"{{{STR}}}MeasureList", {"id": "MeasureDescriptor"})
    measure = _sub(measures, f"{{{STR}}}PrimaryMeasure", {"id": MEASURE})
    _concept_identity(measure, MEASURE)
    _text_format(measure, {"textType": "Integer", "minValue": "0"})


def _artefact_xml(parent: ET.Element, selected: Selected, base: str) -> None:
    a = selected.artefact
    element_name = _KINDS[a.kind][3]
    attributes = {
        "id": a.id,
        "urn": urn(a.kind, a.agency, a.id, a.version),
        "agencyID": a.agency,
        "version": a.version,
    }
    if a.final:
        attributes["isFinal"] = "true"
        attributes["validFrom"] = VALID_FROM
    if a.kind == "contentconstraint":
        attributes["type"] = "Actual"
    if selected.stub:
        attributes["isExternalReference"] = "true"
        attributes["structureURL"] = structure_url(base, a)
    elif selected.partial:
        attributes["isPartial"] = "true"
    element = _sub(parent, f"{{{STR}}}{element_name}", attributes)
    _names_xml(element, a.names)
    if selected.stub != "stub":
        _names_xml(element, a.descriptions, "Description")
    if selected.stub:
        return
    item_tag = _KINDS[a.kind][5]
    for item in selected.items:
        item_element = _sub(
            element,
            f"{{{STR}}}{item_tag}",
            {"id": item.id, "urn": item_urn(a.kind, a.agency, a.id, a.version, item.id)},
        )
        _names_xml(item_element, item.names)
        _names_xml(item_element, item.descriptions, "Description")
    if a.kind == "dataflow":
        _ref(
            element,
            f"{{{STR}}}Structure",
            {
                "id": DSD_ID,
                "version": VERSION,
                "agencyID": AGENCY,
                "package": "datastructure",
                "class": "DataStructure",
            },
        )
    elif a.kind == "datastructure":
        _dsd_components(element)
    elif a.kind == "contentconstraint" and selected.availability is not None:
        _constraint_xml(element, selected.availability)


def _annotation_xml(parent: ET.Element, id_: str, title: str) -> None:
    annotation = _sub(parent, f"{{{COM}}}Annotation", {"id": id_})
    _sub(annotation, f"{{{COM}}}AnnotationTitle").text = title
    _sub(annotation, f"{{{COM}}}AnnotationType").text = "sdmx_metrics"


def _constraint_xml(element: ET.Element, availability: Availability) -> None:
    # Annotations come first in a maintainable artefact: put them before the names.
    annotations = ET.Element(f"{{{COM}}}Annotations")
    _annotation_xml(annotations, "series_count", str(availability.series_count))
    _annotation_xml(annotations, "obs_count", str(availability.obs_count))
    element.insert(0, annotations)
    attachment = _sub(element, f"{{{STR}}}ConstraintAttachment")
    _ref(
        attachment,
        f"{{{STR}}}Dataflow",
        {
            "id": DSD_ID,
            "version": VERSION,
            "agencyID": AGENCY,
            "package": "datastructure",
            "class": "Dataflow",
        },
    )
    region = _sub(element, f"{{{STR}}}CubeRegion", {"include": "true"})
    for dimension, codes in availability.values.items():
        key_value = _sub(region, f"{{{COM}}}KeyValue", {"id": dimension})
        for code in codes:
            _sub(key_value, f"{{{COM}}}Value").text = code
    if availability.time_range is not None:
        key_value = _sub(region, f"{{{COM}}}KeyValue", {"id": "TIME_PERIOD"})
        time_range = _sub(key_value, f"{{{COM}}}TimeRange")
        start, end = availability.time_range
        _sub(time_range, f"{{{COM}}}StartPeriod", {"isInclusive": "true"}).text = start
        _sub(time_range, f"{{{COM}}}EndPeriod", {"isInclusive": "true"}).text = end


def _header_xml(root: ET.Element, message_id: str, prepared: datetime) -> None:
    header = _sub(root, f"{{{MES}}}Header")
    _sub(header, f"{{{MES}}}ID").text = message_id
    _sub(header, f"{{{MES}}}Test").text = "false"
    _sub(header, f"{{{MES}}}Prepared").text = _prepared(prepared)
    _sub(header, f"{{{MES}}}Sender", {"id": AGENCY})


def xml_document(root: ET.Element) -> bytes:
    for prefix, uri in NAMESPACES.items():
        ET.register_namespace(prefix, uri)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body


def structure_xml(
    selection: Sequence[Selected], *, message_id: str, prepared: datetime, base: str
) -> bytes:
    """An SDMX-ML 2.1 structure message of the selected artefacts."""
    root = ET.Element(f"{{{MES}}}Structure")
    _header_xml(root, message_id, prepared)
    structures = _sub(root, f"{{{MES}}}Structures")
    containers: dict[str, ET.Element] = {}
    for selected in ordered(selection):
        kind = selected.artefact.kind
        container_name = _KINDS[kind][2]
        if not container_name:  # organisation schemes share one container
            container_name = "OrganisationSchemes"
        if container_name not in containers:
            containers[container_name] = _sub(structures, f"{{{STR}}}{container_name}")
        _artefact_xml(containers[container_name], selected, base)
    return xml_document(root)


# --- SDMX-JSON 1.0 -------------------------------------------------------------------------------


def _nameable(names: Names, descriptions: Names, lang: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": _best(names, lang), "names": dict(_sorted_names(names))}
    if descriptions:
        out["description"] = _best(descriptions, lang)
        out["descriptions"] = dict(_sorted_names(descriptions))
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
    language = "ru" if lang.split("-")[0].lower() == "ru" else "en"
    data: dict[str, list[dict[str, Any]]] = {}
    for selected in ordered(selection):
        member = _KINDS[selected.artefact.kind][4]
        data.setdefault(member, []).append(_artefact_json(selected, language, base))
    message = {
        "meta": {
            "id": message_id,
            "test": False,
            "prepared": _prepared(prepared),
            "contentLanguages": [language, *(["en"] if language != "en" else [])],
            "sender": {"id": AGENCY},
        },
        "data": data,
    }
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
