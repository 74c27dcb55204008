"""SDMX-ML 2.1 structure messages of the artefacts ``services.sdmx_structures`` selects
(``structure_xml``).

Written with the standard library's ElementTree: the messages are small (a few dozen KiB at most)
and fixed in shape, and a writer of our own keeps a heavy SDMX library (and pandas under it) out
of the running service. The tests hold the output to the official SDMX-ML 2.1 XSDs and read it
back with sdmx1 and pysdmx.

Stubs (``detail=allstubs`` and the like) are written as external references
(``isExternalReference``, ``structureURL`` the query for the full artefact) with their names;
complete stubs with their descriptions too.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from recnet.formats.sdmx.artefacts import (
    KINDS,
    item_urn,
    prepared_time,
    sorted_names,
    structure_url,
    urn,
)
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

SDMX_ML_STRUCTURE: Final = "application/vnd.sdmx.structure+xml;version=2.1"

MES: Final = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
STR: Final = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure"
COM: Final = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common"
XML_LANG: Final = "{http://www.w3.org/XML/1998/namespace}lang"
NAMESPACES: Final = {"message": MES, "structure": STR, "common": COM}


def _sub(parent: ET.Element, tag: str, attributes: dict[str, str] | None = None) -> ET.Element:
    return ET.SubElement(parent, tag, attributes or {})


def _names_xml(parent: ET.Element, names: Names, tag: str = "Name") -> None:
    for lang, text in sorted_names(names):
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
    element_name = KINDS[a.kind][3]
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
    item_tag = KINDS[a.kind][5]
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
    _sub(header, f"{{{MES}}}Prepared").text = prepared_time(prepared)
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
        container_name = KINDS[kind][2]
        if not container_name:  # organisation schemes share one container
            container_name = "OrganisationSchemes"
        if container_name not in containers:
            containers[container_name] = _sub(structures, f"{{{STR}}}{container_name}")
        _artefact_xml(containers[container_name], selected, base)
    return xml_document(root)
