"""The published RR_STATS structure (what GET /v1/statistics/structure answers).

Names of the structure, its codelists and codes come from the ``statistics`` message catalogues,
in every language that has them (the region's seven).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from recnet.schemas.catalogues import labels
from recnet.schemas.statistics import (
    AGENCY,
    CODELISTS,
    DIMENSIONS,
    DSD_ID,
    VERSION,
    Code,
)


class CodeOut(BaseModel):
    id: str
    names: dict[str, str]
    unit: str | None = Field(default=None, description="For indicators: the unit of measure.")
    counts: dict[str, str] | None = Field(
        default=None, description="For indicators: what is counted."
    )


class CodelistOut(BaseModel):
    id: str
    names: dict[str, str]
    codes: list[CodeOut]


class Component(BaseModel):
    id: str
    position: int | None = None
    codelist: str | None = None
    description: str


class StatisticsStructure(BaseModel):
    """A data structure definition in the spirit of SDMX: components and their codelists."""

    id: str
    agency: str
    version: str
    names: dict[str, str]
    dimensions: list[Component]
    measure: Component
    attributes: list[Component]
    codelists: list[CodelistOut]


_DIMENSION_TEXT = {
    "REF_AREA": "Reporting member state (ISO 3166-1 alpha-3); CAS is the regional total.",
    "INDICATOR": "What is counted.",
    "SEX": "Sex; _T is the total of F and M.",
    "AGE": "Age band; _T is the total of the bands and _U.",
    "COUNTERPART_AREA": "Country returned from; _T is the total.",
    "TIME_PERIOD": "Year (2024), quarter (2024-Q1) or month (2024-03); 2024Q1 is accepted.",
}


def _code(codelist: str, code: Code) -> CodeOut:
    key = f"{codelist}.{code.id}"
    counts = labels("statistics", f"{key}.counts") if code.counts_en else None
    return CodeOut(id=code.id, names=labels("statistics", key), unit=code.unit, counts=counts)


def structure() -> StatisticsStructure:
    return StatisticsStructure(
        id=DSD_ID,
        agency=AGENCY,
        version=VERSION,
        names=labels("statistics", DSD_ID),
        dimensions=[
            Component(
                id=d,
                position=i + 1,
                codelist=CODELISTS[d].id if d in CODELISTS else None,
                description=_DIMENSION_TEXT[d],
            )
            for i, d in enumerate(DIMENSIONS)
        ],
        measure=Component(
            id="OBS_VALUE", description="Number of persons: a whole number, 0 or more."
        ),
        attributes=[
            Component(
                id="OBS_STATUS", codelist="CL_OBS_STATUS", description="A, E or P; default A."
            ),
            Component(id="UNIT_MEASURE", codelist="CL_UNIT_MEASURE", description="PS (persons)."),
            Component(id="SOURCE", description="Free text, up to 200 characters."),
            Component(id="COMMENT", description="Free text, up to 500 characters."),
            Component(
                id="CONF_STATUS",
                codelist="CL_CONF_STATUS",
                description=(
                    "On outputs: F published; C withheld by disclosure control (a small "
                    "count, or a figure that would reveal one)."
                ),
            ),
        ],
        codelists=[
            CodelistOut(
                id=c.id, names=labels("statistics", c.id), codes=[_code(c.id, x) for x in c.codes]
            )
            for c in CODELISTS.values()
        ],
    )
