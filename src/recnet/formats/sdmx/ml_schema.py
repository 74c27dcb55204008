"""The XML schema (XSD) of RR_STATS structure-specific data, as the SDMX schema query answers it
(``structure_schema``): one per dimension at the observation, restricting every coded component to
its codes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from recnet.formats.sdmx.ml_data import COM, SS, check_form, structure_namespace
from recnet.formats.sdmx.observation import ATTRIBUTES
from recnet.schemas.statistics import DIMENSIONS

XS: Final = "http://www.w3.org/2001/XMLSchema"
SDMX_SCHEMA: Final = "application/vnd.sdmx.schema+xml;version=2.1"
_TEXT_LIMITS: Final = {"COMMENT": 500, "SOURCE": 200}


def _enumeration(name: str, codes: Iterable[str]) -> str:
    values = "".join(f'<xs:enumeration value="{c}"/>' for c in codes)
    return (
        f'<xs:simpleType name="{name}"><xs:restriction base="common:IDType">{values}'
        "</xs:restriction></xs:simpleType>"
    )


def structure_schema(dimension_at_observation: str = "TIME_PERIOD") -> bytes:
    """The XML schema of RR_STATS structure-specific data with this observation dimension (a
    dimension of RR_STATS, or ``AllDimensions``), as the SDMX schema query answers it. It imports
    the SDMX-ML 2.1 schemas by namespace (``SDMXDataStructureSpecific.xsd``, ``SDMXCommon.xsd``
    beside it), and restricts every coded component to its codes."""
    from recnet.schemas.statistics import CODELISTS

    check_form(dimension_at_observation, "full")
    namespace = structure_namespace(dimension_at_observation)
    types = [_enumeration(f"{cl.id}Type", (c.id for c in cl.codes)) for cl in CODELISTS.values()]
    for attribute, limit in _TEXT_LIMITS.items():
        types.append(
            f'<xs:simpleType name="{attribute}Type"><xs:restriction base="xs:string">'
            f'<xs:maxLength value="{limit}"/></xs:restriction></xs:simpleType>'
        )

    def component_type(component: str) -> str:
        if component in CODELISTS:
            return f"{CODELISTS[component].id}Type"
        return f"{component}Type"

    def required(names: Iterable[str]) -> str:
        out = []
        for d in names:
            kind = "common:ObservationalTimePeriodType" if d == "TIME_PERIOD" else component_type(d)
            out.append(f'<xs:attribute name="{d}" type="{kind}" use="required"/>')
        return "".join(out)

    attributes = "".join(
        f'<xs:attribute name="{a}" type="{component_type(a)}" use="optional"/>' for a in ATTRIBUTES
    )
    flat = dimension_at_observation == "AllDimensions"
    at_observation = DIMENSIONS if flat else (dimension_at_observation,)
    in_series = [d for d in DIMENSIONS if d not in at_observation]
    observations = "Obs" if flat else "Series"
    obs_type = (
        '<xs:complexType name="ObsType"><xs:complexContent><xs:restriction base="dsd:ObsType">'
        '<xs:sequence><xs:element ref="common:Annotations" minOccurs="0"/></xs:sequence>'
        '<xs:attribute name="type" use="prohibited"/>'
        + (
            ""
            if "TIME_PERIOD" in at_observation
            else '<xs:attribute name="TIME_PERIOD" use="prohibited"/>'
        )
        + '<xs:attribute name="REPORTING_YEAR_START_DAY" use="prohibited"/>'
        + required(at_observation)
        + '<xs:attribute name="OBS_VALUE" type="xs:nonNegativeInteger" use="optional"/>'
        + attributes
        + "</xs:restriction></xs:complexContent></xs:complexType>"
    )
    series_type = (
        ""
        if flat
        else '<xs:complexType name="SeriesType"><xs:complexContent>'
        '<xs:restriction base="dsd:SeriesType"><xs:sequence>'
        '<xs:element ref="common:Annotations" minOccurs="0"/>'
        '<xs:element name="Obs" type="ObsType" form="unqualified" minOccurs="0" '
        'maxOccurs="unbounded"/></xs:sequence>'
        + (
            ""
            if "TIME_PERIOD" in in_series
            else '<xs:attribute name="TIME_PERIOD" use="prohibited"/>'
        )
        + '<xs:attribute name="REPORTING_YEAR_START_DAY" use="prohibited"/>'
        + required(in_series)
        + "</xs:restriction></xs:complexContent></xs:complexType>"
    )
    dataset_type = (
        '<xs:complexType name="DataSetType"><xs:complexContent>'
        '<xs:restriction base="dsd:DataSetType"><xs:sequence>'
        '<xs:element ref="common:Annotations" minOccurs="0"/>'
        '<xs:element name="DataProvider" type="common:DataProviderReferenceType" '
        'form="unqualified" minOccurs="0"/>'
        f'<xs:choice minOccurs="0"><xs:element name="{observations}" '
        f'type="{observations}Type" form="unqualified" maxOccurs="unbounded"/></xs:choice>'
        "</xs:sequence>"
        '<xs:attribute name="REPORTING_YEAR_START_DAY" use="prohibited"/>'
        "</xs:restriction></xs:complexContent></xs:complexType>"
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<xs:schema xmlns:xs="{XS}" xmlns="{namespace}" xmlns:common="{COM}" xmlns:dsd="{SS}" '
        f'targetNamespace="{namespace}" elementFormDefault="unqualified" '
        'attributeFormDefault="unqualified">'
        f'<xs:import namespace="{COM}" schemaLocation="SDMXCommon.xsd"/>'
        f'<xs:import namespace="{SS}" schemaLocation="SDMXDataStructureSpecific.xsd"/>'
        + "".join(types)
        + dataset_type
        + series_type
        + obs_type
        + "</xs:schema>"
    )
    return document.encode()
