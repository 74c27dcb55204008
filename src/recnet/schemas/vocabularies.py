"""Controlled vocabularies of the shared schema, as code.

Each vocabulary is an enum whose values are stable codes (what the API stores and exchanges) and
whose members carry labels in English and Russian (what people read). ``VOCABULARIES`` publishes
them at ``GET /v1/vocabularies``. Codes never change within v1; labels may be improved.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, Literal, get_args


class Term(StrEnum):
    """A vocabulary entry: its value is the stable code; ``en`` and ``ru`` are its labels."""

    en: str
    ru: str

    def __new__(cls, code: str, en: str = "", ru: str = "") -> Term:
        term = str.__new__(cls, code)
        term._value_ = code
        term.en = en
        term.ru = ru
        return term


class Language(Term):
    en_ = "en", "English", "Английский"
    ru_ = "ru", "Russian", "Русский"
    kk = "kk", "Kazakh", "Казахский"
    ky = "ky", "Kyrgyz", "Кыргызский"
    tg = "tg", "Tajik", "Таджикский"
    tk = "tk", "Turkmen", "Туркменский"
    uz = "uz", "Uzbek", "Узбекский"


class WorkingGroup(Term):
    accountability_legal = (
        "accountability_legal",
        "Accountability and legal issues",
        "Привлечение к ответственности и правовые вопросы",
    )
    psychosocial_health_education = (
        "psychosocial_health_education",
        "Psychosocial support, health and education",
        "Психосоциальная поддержка, здравоохранение и образование",
    )
    countering_narratives = (
        "countering_narratives",
        "Countering violent extremist narratives",
        "Противодействие нарративам насильственного экстремизма",
    )
    civil_society = (
        "civil_society",
        "Civil society and community engagement",
        "Гражданское общество и вовлечение местных сообществ",
    )


class Approach(Term):
    """Approaches of good practices; the same list names programme components."""

    civil_documentation = "civil_documentation", "Civil documentation", "Гражданская документация"
    legal_aid_amnesty = "legal_aid_amnesty", "Legal aid and amnesty", "Правовая помощь и амнистия"
    medical = "medical", "Medical care", "Медицинская помощь"
    psychosocial = "psychosocial", "Psychosocial support", "Психосоциальная поддержка"
    education = "education", "Education", "Образование"
    mobile_classes = "mobile_classes", "Mobile classes", "Мобильные классы"
    vocational_training = (
        "vocational_training",
        "Vocational training",
        "Профессиональное обучение",
    )
    employment = "employment", "Employment", "Трудоустройство"
    preferential_lending = "preferential_lending", "Preferential lending", "Льготное кредитование"
    family_reunification = (
        "family_reunification",
        "Family reunification",
        "Воссоединение семей",
    )
    community_mahalla = (
        "community_mahalla",
        "Community and mahalla-based support",
        "Поддержка на уровне сообщества и махалли",
    )
    multi_agency = "multi_agency", "Multi-agency coordination", "Межведомственная координация"
    risk_assessment = "risk_assessment", "Risk and needs assessment", "Оценка рисков и потребностей"


class TargetGroup(Term):
    women = "women", "Women", "Женщины"
    girls = "girls", "Girls", "Девочки"
    boys = "boys", "Boys", "Мальчики"
    children_0_4 = "children_0_4", "Children aged 0-4", "Дети 0-4 лет"
    children_5_11 = "children_5_11", "Children aged 5-11", "Дети 5-11 лет"
    children_12_17 = "children_12_17", "Children aged 12-17", "Дети 12-17 лет"
    adolescents = "adolescents", "Adolescents", "Подростки"
    men = "men", "Men", "Мужчины"
    families = "families", "Families", "Семьи"
    host_communities = "host_communities", "Host communities", "Принимающие сообщества"
    practitioners = "practitioners", "Practitioners", "Специалисты-практики"


class EvidenceLevel(Term):
    not_evaluated = "not_evaluated", "Not evaluated", "Оценка не проводилась"
    monitoring = "monitoring", "Monitoring data", "Данные мониторинга"
    internal_evaluation = "internal_evaluation", "Internal evaluation", "Внутренняя оценка"
    external_evaluation = "external_evaluation", "External evaluation", "Внешняя оценка"
    peer_reviewed = "peer_reviewed", "Peer-reviewed study", "Рецензируемое исследование"


class TlpMarking(Term):
    clear = "CLEAR", "TLP:CLEAR — anyone", "TLP:CLEAR — без ограничений"
    green = "GREEN", "TLP:GREEN — the network", "TLP:GREEN — участники сети"
    amber = (
        "AMBER",
        "TLP:AMBER — member states and secretariat",
        "TLP:AMBER — государства и секретариат",
    )
    amber_strict = (
        "AMBER+STRICT",
        "TLP:AMBER+STRICT — the owning state only",
        "TLP:AMBER+STRICT — только государство-владелец",
    )
    red = "RED", "TLP:RED — the owning state only", "TLP:RED — только государство-владелец"


class RecordStatus(Term):
    draft = "draft", "Draft", "Черновик"
    published = "published", "Published", "Опубликовано"
    withdrawn = "withdrawn", "Withdrawn", "Отозвано"


class OrganisationRole(Term):
    """IATI organisation roles (codes as words; IATI's numeric code in the label)."""

    funding = "funding", "Funding (IATI 1)", "Финансирующая (IATI 1)"
    accountable = "accountable", "Accountable (IATI 2)", "Ответственная (IATI 2)"
    extending = "extending", "Extending (IATI 3)", "Распорядитель средств (IATI 3)"
    implementing = "implementing", "Implementing (IATI 4)", "Исполняющая (IATI 4)"


class ActivityStatus(Term):
    """IATI activity statuses."""

    pipeline = "pipeline", "Pipeline/identification", "Подготовка"
    implementation = "implementation", "Implementation", "Реализация"
    finalisation = "finalisation", "Finalisation", "Завершение"
    closed = "closed", "Closed", "Закрыто"
    cancelled = "cancelled", "Cancelled", "Отменено"
    suspended = "suspended", "Suspended", "Приостановлено"


class ActivityDateType(Term):
    """IATI activity date types."""

    planned_start = "planned_start", "Planned start", "Плановое начало"
    actual_start = "actual_start", "Actual start", "Фактическое начало"
    planned_end = "planned_end", "Planned end", "Плановое окончание"
    actual_end = "actual_end", "Actual end", "Фактическое окончание"


class GeographicScope(Term):
    local = "local", "Local (district, city, mahalla)", "Местный (район, город, махалля)"
    subnational = "subnational", "Regional within a state", "Региональный в пределах страны"
    national = "national", "National", "Национальный"
    central_asia = "central_asia", "Central Asia", "Центральная Азия"
    international = "international", "International", "Международный"


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


VOCABULARIES: dict[str, tuple[type[Term], str, str]] = {
    "languages": (Language, "Languages", "Языки"),
    "working_groups": (WorkingGroup, "Working groups of the Council", "Рабочие группы Совета"),
    "approaches": (
        Approach,
        "Approaches and programme components",
        "Подходы и компоненты программ",
    ),
    "target_groups": (TargetGroup, "Target groups", "Целевые группы"),
    "evidence_levels": (EvidenceLevel, "Evidence levels", "Уровни доказательности"),
    "tlp": (TlpMarking, "Traffic Light Protocol 2.0 markings", "Маркировка TLP 2.0"),
    "record_statuses": (RecordStatus, "Record statuses", "Статусы записей"),
    "organisation_roles": (OrganisationRole, "IATI organisation roles", "Роли организаций (IATI)"),
    "activity_statuses": (ActivityStatus, "IATI activity statuses", "Статусы деятельности (IATI)"),
    "activity_date_types": (ActivityDateType, "IATI activity date types", "Типы дат (IATI)"),
    "geographic_scope": (GeographicScope, "Geographic scope", "Географический охват"),
}
