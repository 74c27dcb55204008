"""The aggregate repatriation statistics: one data structure shaped like an SDMX DSD (RR_STATS).

Dimensions, in order: REF_AREA (the reporting member state), INDICATOR, SEX, AGE,
COUNTERPART_AREA (the country returned from), TIME_PERIOD. Measure OBS_VALUE: a non-negative count
of persons. Attributes: OBS_STATUS, UNIT_MEASURE, SOURCE, COMMENT, and CONF_STATUS on outputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

AGENCY = "RECNET"
DSD_ID = "RR_STATS"
DATAFLOW_ID = "RR_STATS"
VERSION = "1.0"

DIMENSIONS = ("REF_AREA", "INDICATOR", "SEX", "AGE", "COUNTERPART_AREA", "TIME_PERIOD")
# Dimensions whose codes form a total (the _T code) and its parts.
TOTAL = "_T"
# The regional total across the member states, computed by aggregates (never reported).
REGION = "CAS"


@dataclass(frozen=True)
class Code:
    id: str
    en: str
    ru: str
    # For indicators: the unit, and what is counted.
    unit: str | None = None
    counts_en: str | None = None
    counts_ru: str | None = None


@dataclass(frozen=True)
class Codelist:
    id: str
    en: str
    ru: str
    codes: tuple[Code, ...]

    def ids(self) -> frozenset[str]:
        return frozenset(c.id for c in self.codes)


MEMBER_STATES = (
    Code("KAZ", "Kazakhstan", "Казахстан"),
    Code("KGZ", "Kyrgyzstan", "Кыргызстан"),
    Code("TJK", "Tajikistan", "Таджикистан"),
    Code("TKM", "Turkmenistan", "Туркменистан"),
    Code("UZB", "Uzbekistan", "Узбекистан"),
)

CL_REF_AREA = Codelist(
    "CL_REF_AREA",
    "Reporting member states and the region",
    "Отчитывающиеся государства и регион",
    (*MEMBER_STATES, Code(REGION, "Central Asia (Council member states)", "Центральная Азия")),
)

CL_COUNTERPART_AREA = Codelist(
    "CL_COUNTERPART_AREA",
    "Country returned from",
    "Страна, из которой вернулись",
    (
        Code("SYR", "Syria", "Сирия"),
        Code("IRQ", "Iraq", "Ирак"),
        Code("AFG", "Afghanistan", "Афганистан"),
        Code("TUR", "Türkiye", "Турция"),
        Code("_O", "Other countries", "Другие страны"),
        Code("_U", "Unknown", "Неизвестно"),
        Code(TOTAL, "All countries", "Все страны"),
    ),
)

CL_INDICATOR = Codelist(
    "CL_INDICATOR",
    "Indicators",
    "Показатели",
    tuple(
        Code(code, en, ru, "PS", counts_en, counts_ru)
        for code, en, ru, counts_en, counts_ru in (
            (
                "RETURNED",
                "Persons returned",
                "Возвращено лиц",
                "persons repatriated in the period",
                "лица, репатриированные за период",
            ),
            (
                "IN_REHABILITATION",
                "In rehabilitation",
                "Проходят реабилитацию",
                "persons in a rehabilitation programme at the end of the period",
                "лица в программе реабилитации на конец периода",
            ),
            (
                "DOCUMENTS_ISSUED",
                "Documents issued",
                "Выдано документов",
                "persons issued civil documents in the period",
                "лица, получившие гражданские документы за период",
            ),
            (
                "ENROLLED_EDUCATION",
                "Enrolled in education",
                "Зачислены в учебные заведения",
                "children and adults enrolled in education in the period",
                "дети и взрослые, зачисленные на обучение за период",
            ),
            (
                "IN_VOCATIONAL_TRAINING",
                "In vocational training",
                "Проходят профобучение",
                "persons in vocational training in the period",
                "лица, проходящие профессиональное обучение за период",
            ),
            (
                "EMPLOYED",
                "Employed",
                "Трудоустроены",
                "persons who found employment in the period",
                "лица, трудоустроенные за период",
            ),
            (
                "REUNITED_FAMILY",
                "Reunited with family",
                "Воссоединены с семьёй",
                "persons reunited with their families in the period",
                "лица, воссоединённые с семьёй за период",
            ),
            (
                "PROSECUTED",
                "Prosecuted",
                "Привлечены к ответственности",
                "persons against whom criminal proceedings were opened in the period",
                "лица, в отношении которых возбуждено уголовное дело за период",
            ),
            (
                "AMNESTIED",
                "Amnestied",
                "Амнистированы",
                "persons released from liability under an amnesty in the period",
                "лица, освобождённые от ответственности по амнистии за период",
            ),
        )
    ),  # fmt: skip
)

CL_SEX = Codelist(
    "CL_SEX",
    "Sex",
    "Пол",
    (Code("F", "Female", "Женщины"), Code("M", "Male", "Мужчины"), Code(TOTAL, "Total", "Всего")),
)

CL_AGE = Codelist(
    "CL_AGE",
    "Age band",
    "Возрастная группа",
    (
        Code("Y0T4", "0 to 4 years", "0-4 года"),
        Code("Y5T11", "5 to 11 years", "5-11 лет"),
        Code("Y12T17", "12 to 17 years", "12-17 лет"),
        Code("Y18T59", "18 to 59 years", "18-59 лет"),
        Code("Y_GE60", "60 years or over", "60 лет и старше"),
        Code("_U", "Unknown", "Неизвестно"),
        Code(TOTAL, "All ages", "Все возрасты"),
    ),
)

CL_OBS_STATUS = Codelist(
    "CL_OBS_STATUS",
    "Observation status",
    "Статус наблюдения",
    (
        Code("A", "Normal value", "Обычное значение"),
        Code("E", "Estimated value", "Оценочное значение"),
        Code("P", "Provisional value", "Предварительное значение"),
    ),
)

CL_CONF_STATUS = Codelist(
    "CL_CONF_STATUS",
    "Confidentiality status",
    "Статус конфиденциальности",
    (
        Code("F", "Free", "Открыто"),
        # One status for every withheld figure: readers are not told whether it is small or
        # withheld to protect a small one (owners see their own figures exactly).
        Code(
            "C",
            "Confidential: withheld by disclosure control (a small count, or a figure that "
            "would reveal one)",
            "Конфиденциально: скрыто контролем раскрытия (малое число или значение, по "
            "которому его можно вычислить)",
        ),
    ),
)

CL_UNIT_MEASURE = Codelist(
    "CL_UNIT_MEASURE", "Unit of measure", "Единица измерения", (Code("PS", "Persons", "Человек"),)
)

# Dimension (or attribute) → its codelist; TIME_PERIOD is free text in SDMX period formats.
CODELISTS: dict[str, Codelist] = {
    "REF_AREA": CL_REF_AREA,
    "INDICATOR": CL_INDICATOR,
    "SEX": CL_SEX,
    "AGE": CL_AGE,
    "COUNTERPART_AREA": CL_COUNTERPART_AREA,
    "OBS_STATUS": CL_OBS_STATUS,
    "CONF_STATUS": CL_CONF_STATUS,
    "UNIT_MEASURE": CL_UNIT_MEASURE,
}

# Parts of each total along the hierarchical dimensions (the total code is _T).
PARTS: dict[str, frozenset[str]] = {
    "SEX": frozenset({"F", "M"}),
    "AGE": frozenset({"Y0T4", "Y5T11", "Y12T17", "Y18T59", "Y_GE60", "_U"}),
    "COUNTERPART_AREA": frozenset({"SYR", "IRQ", "AFG", "TUR", "_O", "_U"}),
}

_PERIOD = re.compile(r"^([0-9]{4})(?:-?(Q[1-4])|-?(0[1-9]|1[0-2]))?$")


def normalise_period(value: str) -> str | None:
    """'2024', '2024-Q1', '2024-03' (and '2024Q1', '202403' on input), or None if invalid."""
    match = _PERIOD.match(value.strip().upper())
    if not match:
        return None
    year, quarter, month = match.groups()
    if quarter:
        return f"{year}-{quarter}"
    if month:
        return f"{year}-{month}"
    return year


def period_year(period: str) -> str:
    return period[:4]


def period_frequency(period: str) -> str:
    """A (annual), Q (quarterly) or M (monthly), from a normalised period."""
    if len(period) == 4:
        return "A"
    return "Q" if period[5] == "Q" else "M"


def period_quarter(period: str) -> str | None:
    """The quarter a monthly period falls in ('2024-05' → '2024-Q2')."""
    if period_frequency(period) != "M":
        return None
    return f"{period[:4]}-Q{(int(period[5:7]) - 1) // 3 + 1}"
