"""Controlled vocabularies of the shared schema, as code.

Each vocabulary is an enum whose values are stable codes (what the API stores and exchanges).
Their labels (what people read) are not here: they live in the ``vocabularies`` message catalogues
(``recnet/messages/vocabularies/<lang>.json``, see ``schemas.catalogues``), in the region's seven
languages, under ``<vocabulary>`` and ``<vocabulary>.<code>``. ``VOCABULARIES`` publishes them at
``GET /v1/vocabularies``. Codes never change within v1; labels may be improved.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, Literal, get_args

from recnet.schemas import catalogues

DOMAIN: Final = "vocabularies"


class Term(StrEnum):
    """A vocabulary entry: its value is the stable code; its labels come from the catalogues."""

    @property
    def key(self) -> str:
        """The term's key in the catalogues: ``<vocabulary>.<code>``."""
        return f"{VOCABULARY_NAMES[type(self)]}.{self.value}"

    @property
    def labels(self) -> dict[str, str]:
        """The term's label by language, for every language that has one."""
        return catalogues.labels(DOMAIN, self.key)

    def label(self, lang: str) -> str:
        """The term's label in one language (English where that language has none)."""
        return catalogues.text(DOMAIN, lang, self.key)


class Language(Term):
    en_ = "en"
    ru_ = "ru"
    kk = "kk"
    ky = "ky"
    tg = "tg"
    tk = "tk"
    uz = "uz"


class WorkingGroup(Term):
    accountability_legal = "accountability_legal"
    psychosocial_health_education = "psychosocial_health_education"
    countering_narratives = "countering_narratives"
    civil_society = "civil_society"


class Approach(Term):
    """Approaches of good practices; the same list names programme components."""

    civil_documentation = "civil_documentation"
    legal_aid_amnesty = "legal_aid_amnesty"
    medical = "medical"
    psychosocial = "psychosocial"
    education = "education"
    mobile_classes = "mobile_classes"
    vocational_training = "vocational_training"
    employment = "employment"
    preferential_lending = "preferential_lending"
    family_reunification = "family_reunification"
    community_mahalla = "community_mahalla"
    multi_agency = "multi_agency"
    risk_assessment = "risk_assessment"


class TargetGroup(Term):
    women = "women"
    girls = "girls"
    boys = "boys"
    children_0_4 = "children_0_4"
    children_5_11 = "children_5_11"
    children_12_17 = "children_12_17"
    adolescents = "adolescents"
    men = "men"
    families = "families"
    host_communities = "host_communities"
    practitioners = "practitioners"


class EvidenceLevel(Term):
    not_evaluated = "not_evaluated"
    monitoring = "monitoring"
    internal_evaluation = "internal_evaluation"
    external_evaluation = "external_evaluation"
    peer_reviewed = "peer_reviewed"


class TlpMarking(Term):
    clear = "CLEAR"
    green = "GREEN"
    amber = "AMBER"
    amber_strict = "AMBER+STRICT"
    red = "RED"


class RecordStatus(Term):
    draft = "draft"
    published = "published"
    withdrawn = "withdrawn"


class OrganisationRole(Term):
    """IATI organisation roles (codes as words; IATI's numeric code in the label)."""

    funding = "funding"
    accountable = "accountable"
    extending = "extending"
    implementing = "implementing"


class ActivityStatus(Term):
    """IATI activity statuses."""

    pipeline = "pipeline"
    implementation = "implementation"
    finalisation = "finalisation"
    closed = "closed"
    cancelled = "cancelled"
    suspended = "suspended"


class ActivityDateType(Term):
    """IATI activity date types."""

    planned_start = "planned_start"
    actual_start = "actual_start"
    planned_end = "planned_end"
    actual_end = "actual_end"


class GeographicScope(Term):
    local = "local"
    subnational = "subnational"
    national = "national"
    central_asia = "central_asia"
    international = "international"


# The kind of an organisation decides its role for the sharing rules. A closed list of codes, not
# one of the published vocabularies above (it has no labels).
class OrganisationKind(StrEnum):
    member_state = "member_state"
    secretariat = "secretariat"
    partner = "partner"
    researcher = "researcher"


# The kinds of shared record: codes (no labels), as a Literal so that every schema and route that
# names them publishes the same plain string enum. ``RECORD_KINDS`` is the same list as values.
RecordKind = Literal["practice", "programme"]
RECORD_KINDS: Final[tuple[str, ...]] = get_args(RecordKind)


# Each published vocabulary by its name (its labels: ``<name>`` in the catalogues).
VOCABULARIES: Final[dict[str, type[Term]]] = {
    "languages": Language,
    "working_groups": WorkingGroup,
    "approaches": Approach,
    "target_groups": TargetGroup,
    "evidence_levels": EvidenceLevel,
    "tlp": TlpMarking,
    "record_statuses": RecordStatus,
    "organisation_roles": OrganisationRole,
    "activity_statuses": ActivityStatus,
    "activity_date_types": ActivityDateType,
    "geographic_scope": GeographicScope,
}
VOCABULARY_NAMES: Final[dict[type[Term], str]] = {
    terms: name for name, terms in VOCABULARIES.items()
}


def vocabulary_labels(name: str) -> dict[str, str]:
    """A vocabulary's own name by language, for every language that has one."""
    return catalogues.labels(DOMAIN, name)
