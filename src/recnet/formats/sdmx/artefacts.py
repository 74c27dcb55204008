"""How the SDMX structure messages (``ml_structure``, ``json_structure``) name the artefacts that
``services.sdmx_structures`` selects: each kind's URN class and message containers, URNs, names
in order (English first), the query URL of a stub, the time a message is prepared.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from recnet.schemas.statistics_sdmx import Artefact, Names

# Per kind: the URN package and class, the SDMX-ML container and element, the SDMX-JSON member
# and the name of an item's element.
KINDS: Final[dict[str, tuple[str, str, str, str, str, str]]] = {
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
    package, cls = KINDS[kind][:2]
    return f"urn:sdmx:org.sdmx.infomodel.{package}.{cls}={agency}:{id_}({version})"


def item_urn(kind: str, agency: str, scheme: str, version: str, item: str) -> str:
    package = KINDS[kind][0]
    return (
        f"urn:sdmx:org.sdmx.infomodel.{package}.{_ITEM_CLASS[kind]}="
        f"{agency}:{scheme}({version}).{item}"
    )


def prepared_time(prepared: datetime) -> str:
    return prepared.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def sorted_names(names: Names) -> list[tuple[str, str]]:
    return sorted(names.items(), key=lambda kv: (kv[0] != "en", kv[0]))


def structure_url(base: str, a: Artefact) -> str:
    return f"{base}/{a.kind}/{a.agency}/{a.id}/{a.version}"
