"""Answers to SDMX REST structure queries over the RR_STATS artefacts.

The artefacts (``schemas.statistics_sdmx``):

| resource           | artefact                          | refers to                          |
|--------------------|-----------------------------------|------------------------------------|
| agencyscheme       | SDMX:AGENCIES(1.0), agency RECNET |                                    |
| dataproviderscheme | RECNET:DATA_PROVIDERS(1.0)        |                                    |
| conceptscheme      | RECNET:CS_RR_STATS(1.0)           |                                    |
| codelist           | RECNET:CL_*(1.0), eight           |                                    |
| datastructure      | RECNET:RR_STATS(1.0)              | the concept scheme, the codelists  |
| dataflow           | RECNET:RR_STATS(1.0)              | the data structure                 |

``resolve`` answers a query (resource, agencies, ids, versions, items, ``references``,
``detail``) with the artefacts the SDMX RESTful specification (v1.5.0, section 4.3) says, each
with how much of it to write (full, stub, complete stub) and which of its items.
"""

from __future__ import annotations

from typing import Final, Literal

from recnet.errors import NotFound, ProblemError, ValidationProblem
from recnet.schemas.statistics import CODELISTS, DIMENSIONS
from recnet.schemas.statistics_sdmx import (
    ARTEFACTS,
    CONSTRAINT,
    ITEM_SCHEMES,
    KINDS,
    Artefact,
    Availability,
    Selected,
)

DETAILS: Final = frozenset(
    {
        "full",
        "allstubs",
        "referencestubs",
        "allcompletestubs",
        "referencecompletestubs",
        "referencepartial",
    }
)
# Every structure resource of the specification that this service does not serve.
NOT_IMPLEMENTED: Final = frozenset(
    {
        "metadatastructure",
        "categoryscheme",
        "hierarchicalcodelist",
        "dataconsumerscheme",
        "organisationunitscheme",
        "metadataflow",
        "reportingtaxonomy",
        "provisionagreement",
        "structureset",
        "process",
        "categorisation",
        "attachmentconstraint",
        "allowedconstraint",
        "transformationscheme",
        "rulesetscheme",
        "userdefinedoperatorscheme",
        "customtypescheme",
        "namepersonalisationscheme",
        "vtlmappingscheme",
    }
)
# Resources that stand for several kinds.
GROUPS: Final = {
    "structure": frozenset(KINDS) - {"contentconstraint"},
    "organisationscheme": frozenset({"agencyscheme", "dataproviderscheme"}),
}
REFERENCE_KEYWORDS: Final = frozenset(
    {"none", "parents", "parentsandsiblings", "children", "descendants", "all"}
)
MAX_LIST: Final = 50
# The codelist of each dimension of RR_STATS.
CODELIST_OF: Final = {d: CODELISTS[d].id for d in DIMENSIONS if d in CODELISTS}
_BY_REF: Final = {a.ref: a for a in ARTEFACTS}


class NotImplementedProblem(ProblemError):
    status, slug, title = 501, "not-implemented", "Not implemented"


class NoResultsFound(NotFound):
    """SDMX error 100: the query is valid but nothing matches it."""


def _children(a: Artefact) -> list[Artefact]:
    return [_BY_REF[r] for r in a.children]


def _parents(a: Artefact) -> list[Artefact]:
    return [p for p in ARTEFACTS if a.ref in p.children]


def _descendants(a: Artefact) -> list[Artefact]:
    found: dict[tuple[str, str, str, str], Artefact] = {}
    pending = _children(a)
    while pending:
        child = pending.pop()
        if child.ref not in found:
            found[child.ref] = child
            pending.extend(_children(child))
    return list(found.values())


def _related(a: Artefact, references: str) -> list[Artefact]:
    if references == "none":
        return []
    if references == "parents":
        return _parents(a)
    if references == "children":
        return _children(a)
    if references == "descendants":
        return _descendants(a)
    siblings = [s for p in _parents(a) for s in (p, *_children(p))]
    if references == "parentsandsiblings":
        return siblings
    if references == "all":
        return siblings + _descendants(a)
    # A concrete type: the artefacts of that type that the matching one uses or is used by.
    everything = _parents(a) + siblings + _descendants(a)
    return [r for r in everything if r.kind in GROUPS.get(references, {references})]


def split(value: str, name: str, *, keyword: str = "all") -> list[str] | None:
    """A ``+`` list of a path segment (None for the keyword, all), bounded and checked."""
    if value == keyword:
        return None
    parts = value.split("+")
    if len(parts) > MAX_LIST or not all(parts):
        raise ValidationProblem(f"{name}: at most {MAX_LIST} values separated by +, none empty.")
    return parts


def _check_resource(resource: str) -> frozenset[str]:
    if resource in NOT_IMPLEMENTED:
        raise NotImplementedProblem(
            f"This service does not serve {resource}; it serves {', '.join(KINDS)}."
        )
    if resource in GROUPS:
        return GROUPS[resource]
    if resource in KINDS:
        return frozenset({resource})
    raise NotFound(f"{resource} is not an SDMX structure resource.")


def resolve(
    resource: str,
    agencies: str = "all",
    ids: str = "all",
    versions: str = "latest",
    items: str = "all",
    *,
    references: str = "none",
    detail: str = "full",
) -> list[Selected]:
    """The artefacts that answer a structure query, in the order they are written."""
    kinds = _check_resource(resource)
    if detail not in DETAILS:
        raise ValidationProblem(f"detail is one of {', '.join(sorted(DETAILS))}.")
    allowed_references = REFERENCE_KEYWORDS | frozenset(KINDS) | GROUPS.keys()
    if references not in allowed_references and references not in NOT_IMPLEMENTED:
        raise ValidationProblem(
            "references is none, parents, parentsandsiblings, children, descendants, all, "
            "or a structure resource."
        )
    agency_list = split(agencies, "agencyID")
    id_list = split(ids, "resourceID")
    version_list = split(versions, "version")
    if version_list is not None:
        version_list = [v for v in version_list if v != "latest"] or None
    item_list = split(items, "itemID")
    if item_list is not None and not kinds <= ITEM_SCHEMES:
        raise ValidationProblem("itemID is for item schemes (codelists, concept schemes ...).")
    matched = [
        a
        for a in ARTEFACTS
        if a.kind in kinds
        and (agency_list is None or a.agency in agency_list)
        and (id_list is None or a.id in id_list)
        # One version of each artefact exists: "latest" and "all" are it.
        and (version_list is None or a.version in version_list)
    ]
    main: list[Selected] = []
    for a in matched:
        if item_list is None:
            main.append(Selected(a, items=a.items))
            continue
        chosen = tuple(i for i in a.items if i.id in item_list)
        if chosen:
            main.append(Selected(a, items=chosen, partial=True))
    if not main:
        raise NoResultsFound("No structure matches the query.")
    seen = {s.artefact.ref for s in main}
    related: list[Selected] = []
    for selected in main:
        for r in _related(selected.artefact, references):
            if r.ref not in seen:
                seen.add(r.ref)
                related.append(Selected(r, items=r.items))
    return [_detailed(s, detail, referenced=False) for s in main] + [
        _detailed(s, detail, referenced=True) for s in related
    ]


def _detailed(selected: Selected, detail: str, *, referenced: bool) -> Selected:
    stub: Literal["stub", "complete"] | None = None
    if detail == "allstubs" or (detail == "referencestubs" and referenced):
        stub = "stub"
    elif detail == "allcompletestubs" or (detail == "referencecompletestubs" and referenced):
        stub = "complete"
    if stub is None:
        # referencepartial: the referenced item schemes keep the items the matching artefacts
        # use. RR_STATS uses every concept of its scheme and every code of its codelists (no
        # constraint narrows them), so they are written whole.
        return selected
    return Selected(selected.artefact, stub=stub, items=(), partial=False)


CONSTRAINT_RESOURCES: Final = frozenset({"contentconstraint", "actualconstraint"})
CONSTRAINT_REFERENCES: Final = frozenset(
    {"none", "all", "codelist", "conceptscheme", "datastructure", "dataflow", "dataproviderscheme"}
)


def resolve_constraint(
    availability: Availability, *, references: str = "none", detail: str = "full"
) -> list[Selected]:
    """The actual content constraint of a query, with what it refers to (SDMX RESTful
    specification 4.6.1): ``all`` is the dataflow, the data structure, its concept scheme and
    codelists and the data provider scheme; item schemes keep only the items the constraint uses
    (codes with data, the providers of the reference areas with data) and say they are partial."""
    if references not in CONSTRAINT_REFERENCES:
        raise ValidationProblem(f"references is one of {', '.join(sorted(CONSTRAINT_REFERENCES))}.")
    if detail not in DETAILS:
        raise ValidationProblem(f"detail is one of {', '.join(sorted(DETAILS))}.")
    main = Selected(CONSTRAINT, availability=availability)
    related: list[Artefact] = []
    if references != "none":
        everything = [_BY_REF[r] for r in CONSTRAINT.children]
        everything += _descendants(_BY_REF[CONSTRAINT.children[0]])
        related = [a for a in everything if references == "all" or a.kind == references]
    used_codes = {
        CODELIST_OF[d]: set(codes) for d, codes in availability.values.items() if d in CODELIST_OF
    }
    providers = set(availability.values.get("REF_AREA", ()))
    selection = [main]
    for a in related:
        if a.kind == "codelist" and a.id in used_codes:
            items = tuple(i for i in a.items if i.id in used_codes[a.id])
            selection.append(Selected(a, items=items, partial=len(items) < len(a.items)))
        elif a.kind == "dataproviderscheme" and "REF_AREA" in availability.values:
            items = tuple(i for i in a.items if i.id in providers)
            selection.append(Selected(a, items=items, partial=len(items) < len(a.items)))
        else:
            selection.append(Selected(a, items=a.items))
    return [_detailed(s, detail, referenced=s is not main) for s in selection]
