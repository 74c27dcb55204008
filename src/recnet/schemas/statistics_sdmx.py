"""RR_STATS as SDMX maintainable artefacts: the agency and data provider schemes, the concept
scheme, the codelists, the data structure and the dataflow, each with its version and ``validFrom``.

One source of truth: every artefact is built from ``schemas.statistics`` (codelists, dimensions)
and ``schemas.statistics_structure`` (the descriptions ``/v1/statistics/structure`` publishes).
``services.sdmx_structures`` answers queries with them, ``formats.sdmx`` writes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

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
    {"en": "Data available in RR_STATS", "ru": "Имеющиеся данные RR_STATS"},
    {"en": "The codes and periods for which data exist, as the reader may see them."},
    children=(
        ("dataflow", AGENCY, DATAFLOW_ID, VERSION),
        ("dataproviderscheme", AGENCY, "DATA_PROVIDERS", "1.0"),
    ),
    final=False,
)


_CONCEPT_NAMES: Final[dict[str, Names]] = {
    "REF_AREA": {"en": "Reference area", "ru": "Отчётная территория"},
    "INDICATOR": {"en": "Indicator", "ru": "Показатель"},
    "SEX": {"en": "Sex", "ru": "Пол"},
    "AGE": {"en": "Age", "ru": "Возраст"},
    "COUNTERPART_AREA": {"en": "Country returned from", "ru": "Страна, из которой вернулись"},
    "TIME_PERIOD": {"en": "Time period", "ru": "Отчётный период"},
    "OBS_VALUE": {"en": "Observation value", "ru": "Значение"},
    "OBS_STATUS": {"en": "Observation status", "ru": "Статус наблюдения"},
    "UNIT_MEASURE": {"en": "Unit of measure", "ru": "Единица измерения"},
    "CONF_STATUS": {"en": "Confidentiality status", "ru": "Статус конфиденциальности"},
    "COMMENT": {"en": "Comment", "ru": "Комментарий"},
    "SOURCE": {"en": "Source", "ru": "Источник"},
}


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
            {"en": cl.en, "ru": cl.ru},
            items=tuple(
                Item(
                    code.id,
                    {"en": code.en, "ru": code.ru},
                    {"en": code.counts_en, "ru": code.counts_ru}
                    if code.counts_en and code.counts_ru
                    else {},
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
        {"en": "Concepts of RR_STATS", "ru": "Понятия RR_STATS"},
        {"en": "Every dimension, the measure and every attribute of the RR_STATS structure."},
        items=tuple(
            Item(concept, names, {"en": descriptions[concept]})
            for concept, names in _CONCEPT_NAMES.items()
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
        {
            "en": "Repatriation, rehabilitation and reintegration statistics",
            "ru": "Статистика репатриации, реабилитации и реинтеграции",
        },
        {"en": "The aggregate statistics the member states of the Council share, protected."},
        children=(dsd.ref,),
    )
    agencies = Artefact(
        "agencyscheme",
        "SDMX",
        "AGENCIES",
        "1.0",
        {"en": "SDMX agency scheme", "ru": "Схема агентств SDMX"},
        items=(
            Item(
                AGENCY,
                {
                    "en": "Central Asia Regional Expert Council (recnet)",
                    "ru": "Региональный экспертный совет Центральной Азии (recnet)",
                },
            ),
        ),
        final=False,
    )
    providers = Artefact(
        "dataproviderscheme",
        AGENCY,
        "DATA_PROVIDERS",
        "1.0",
        {"en": "Data providers", "ru": "Поставщики данных"},
        {"en": "The member states, each the provider of its own REF_AREA."},
        items=tuple(Item(s.id, {"en": s.en, "ru": s.ru}) for s in MEMBER_STATES),
        final=False,
    )
    return (agencies, providers, dataflow, *codelists, concepts, dsd)


ARTEFACTS: Final = _build()


def ordered(selection: Iterable[Selected]) -> list[Selected]:
    """In the order SDMX-ML groups them (organisation schemes, dataflows, codelists, concepts,
    data structures), keeping the query's order within a kind."""
    order = {k: i for i, k in enumerate(KINDS)}
    return sorted(selection, key=lambda s: order[s.artefact.kind])
