"""RR_STATS as SDMX maintainable artefacts: the agency and data provider schemes, the concept
scheme, the codelists, the data structure and the dataflow, each with its version and ``validFrom``.

One source of truth: every artefact is built from ``schemas.statistics`` (codelists, dimensions)
and ``schemas.statistics_structure`` (the descriptions ``/v1/statistics/structure`` publishes); the
names, in the region's seven languages, from the ``statistics`` message catalogues.
``services.sdmx_structures`` answers queries with them, ``formats.sdmx`` writes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

from recnet.schemas.catalogues import labels
from recnet.schemas.statistics import (
    AGENCY,
    CODELISTS,
    DATAFLOW_ID,
    DSD_ID,
    MEMBER_STATES,
    VERSION,
)
from recnet.schemas.statistics_structure import structure

# When version 1.0 of the structure took effect. Codes keep their meaning within a version: a
# change of meaning is a new version, never an edit of this one.
VALID_FROM: Final = "2026-11-22T00:00:00Z"
# The kinds served, in the order SDMX-ML groups them in a structure message.
KINDS: Final = (
    "agencyscheme",
    "dataproviderscheme",
    "dataflow",
    "codelist",
    "conceptscheme",
    "datastructure",
    "contentconstraint",
)
ITEM_SCHEMES: Final = frozenset({"agencyscheme", "dataproviderscheme", "conceptscheme", "codelist"})

CONCEPT_SCHEME_ID: Final = "CS_RR_STATS"
MEASURE: Final = "OBS_VALUE"
# Attributes in the order of the DSD, with their codelists (None: free text).
ATTRIBUTE_CODELISTS: Final = {
    "OBS_STATUS": "CL_OBS_STATUS",
    "UNIT_MEASURE": "CL_UNIT_MEASURE",
    "CONF_STATUS": "CL_CONF_STATUS",
    "COMMENT": None,
    "SOURCE": None,
}


Names = dict[str, str]


@dataclass(frozen=True)
class Item:
    id: str
    names: Names
    descriptions: Names = field(default_factory=dict)


@dataclass(frozen=True)
class Artefact:
    """A maintainable artefact: its identity, names, items (item schemes) and what it refers to."""

    kind: str
    agency: str
    id: str
    version: str
    names: Names
    descriptions: Names = field(default_factory=dict)
    items: tuple[Item, ...] = ()
    children: tuple[tuple[str, str, str, str], ...] = ()
    final: bool = True

    @property
    def ref(self) -> tuple[str, str, str, str]:
        return (self.kind, self.agency, self.id, self.version)


@dataclass(frozen=True)
class Availability:
    """What data exist for a query (an actual content constraint): the codes of each dimension
    (of the dimensions asked about), the first and last period, and the counts."""

    values: dict[str, tuple[str, ...]]
    time_range: tuple[str, str] | None
    series_count: int
    obs_count: int


@dataclass(frozen=True)
class Selected:
    """An artefact as an answer writes it: ``stub`` None (full), "stub" or "complete"; ``items``
    the items to write (all of them unless ``partial``); for a content constraint, its cube
    region."""

    artefact: Artefact
    stub: Literal["stub", "complete"] | None = None
    items: tuple[Item, ...] = ()
    partial: bool = False
    availability: Availability | None = None


# The actual content constraint of the dataflow: made per query from the data (see
# services.sdmx_data.availability), never listed with the fixed artefacts.
CONSTRAINT: Final = Artefact(
    "contentconstraint",
    AGENCY,
    "CC_RR_STATS",
    VERSION,
    labels("statistics", "CC_RR_STATS"),
    {"en": "The codes and periods for which data exist, as the reader may see them."},
    children=(
        ("dataflow", AGENCY, DATAFLOW_ID, VERSION),
        ("dataproviderscheme", AGENCY, "DATA_PROVIDERS", "1.0"),
    ),
    final=False,
)


# The concepts, in the order of the DSD; their names are ``concept.<id>`` in the catalogues.
CONCEPTS: Final = (
    "REF_AREA",
    "INDICATOR",
    "SEX",
    "AGE",
    "COUNTERPART_AREA",
    "TIME_PERIOD",
    "OBS_VALUE",
    "OBS_STATUS",
    "UNIT_MEASURE",
    "CONF_STATUS",
    "COMMENT",
    "SOURCE",
)


def _names(key: str) -> Names:
    return labels("statistics", key)


def _build() -> tuple[Artefact, ...]:
    published = structure()
    descriptions = {c.id: c.description for c in published.dimensions}
    descriptions[published.measure.id] = published.measure.description
    descriptions.update({c.id: c.description for c in published.attributes})
    codelists = tuple(
        Artefact(
            "codelist",
            AGENCY,
            cl.id,
            VERSION,
            _names(cl.id),
            items=tuple(
                Item(
                    code.id,
                    _names(f"{cl.id}.{code.id}"),
                    _names(f"{cl.id}.{code.id}.counts") if code.counts_en else {},
                )
                for code in cl.codes
            ),
        )
        for cl in CODELISTS.values()
    )
    concepts = Artefact(
        "conceptscheme",
        AGENCY,
        CONCEPT_SCHEME_ID,
        VERSION,
        _names(CONCEPT_SCHEME_ID),
        {"en": "Every dimension, the measure and every attribute of the RR_STATS structure."},
        items=tuple(
            Item(concept, _names(f"concept.{concept}"), {"en": descriptions[concept]})
            for concept in CONCEPTS
        ),
    )
    dsd = Artefact(
        "datastructure",
        AGENCY,
        DSD_ID,
        VERSION,
        dict(published.names),
        {"en": "Counts of persons returned and reintegrated, by member state and period."},
        children=(concepts.ref, *(cl.ref for cl in codelists)),
    )
    dataflow = Artefact(
        "dataflow",
        AGENCY,
        DATAFLOW_ID,
        VERSION,
        _names(f"dataflow.{DATAFLOW_ID}"),
        {"en": "The aggregate statistics the member states of the Council share, protected."},
        children=(dsd.ref,),
    )
    agencies = Artefact(
        "agencyscheme",
        "SDMX",
        "AGENCIES",
        "1.0",
        _names("AGENCIES"),
        items=(Item(AGENCY, _names(f"agency.{AGENCY}")),),
        final=False,
    )
    providers = Artefact(
        "dataproviderscheme",
        AGENCY,
        "DATA_PROVIDERS",
        "1.0",
        _names("DATA_PROVIDERS"),
        {"en": "The member states, each the provider of its own REF_AREA."},
        items=tuple(Item(s.id, _names(f"CL_REF_AREA.{s.id}")) for s in MEMBER_STATES),
        final=False,
    )
    return (agencies, providers, dataflow, *codelists, concepts, dsd)


ARTEFACTS: Final = _build()


def ordered(selection: Iterable[Selected]) -> list[Selected]:
    """In the order SDMX-ML groups them (organisation schemes, dataflows, codelists, concepts,
    data structures), keeping the query's order within a kind."""
    order = {k: i for i, k in enumerate(KINDS)}
    return sorted(selection, key=lambda s: order[s.artefact.kind])
