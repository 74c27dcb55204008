"""One published cell of RR_STATS (``Observation``) and what every SDMX encoder of the cells
shares: the chunk size, the attributes, the codes and the names of the dataflow and its concepts
in English and Russian.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from recnet.schemas.statistics import (
    AGENCY,
    CODELISTS,
    DATAFLOW_ID,
    DIMENSIONS,
    VERSION,
    Code,
)

# Chunks are handed out once this many characters have collected: large enough that a response
# is not thousands of tiny writes, small enough that nothing sizeable is held back.
CHUNK_SIZE: Final = 32 * 1024

# Observation-level attributes, in the order of the DSD (and of SDMX-CSV columns).
ATTRIBUTES: Final = ("OBS_STATUS", "UNIT_MEASURE", "CONF_STATUS", "COMMENT", "SOURCE")
CODED_ATTRIBUTES: Final = ("OBS_STATUS", "UNIT_MEASURE", "CONF_STATUS")


STRUCTURE_ID: Final = f"{AGENCY}:{DATAFLOW_ID}({VERSION})"

# Codes and periods: SDMX IDType, minus a leading "@" or "-", which no recnet code has and which
# a spreadsheet could read as the start of a formula.
_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_@$-]*")

CODES: Final = {name: {c.id: c for c in cl.codes} for name, cl in CODELISTS.items()}
_OBS_STATUS: Final = frozenset(CODES["OBS_STATUS"])
_CONF_STATUS: Final = frozenset(CODES["CONF_STATUS"])
# CONF_STATUS of cells withheld by disclosure control: primary (C) and secondary (D).
SUPPRESSED: Final = frozenset({"C", "D"})

# Names of the dataflow and its components (statistics.py names only the codelists).
DATAFLOW_NAME: Final = (
    "Repatriation, rehabilitation and reintegration statistics",
    "Статистика репатриации, реабилитации и реинтеграции",
)
CONCEPT_NAMES: Final = {
    "REF_AREA": ("Reference area", "Отчётная территория"),
    "INDICATOR": ("Indicator", "Показатель"),
    "SEX": ("Sex", "Пол"),
    "AGE": ("Age", "Возраст"),
    "COUNTERPART_AREA": ("Country returned from", "Страна, из которой вернулись"),
    "TIME_PERIOD": ("Time period", "Отчётный период"),
    "OBS_VALUE": ("Observation value", "Значение"),
    "OBS_STATUS": ("Observation status", "Статус наблюдения"),
    "UNIT_MEASURE": ("Unit of measure", "Единица измерения"),
    "CONF_STATUS": ("Confidentiality status", "Статус конфиденциальности"),
    "COMMENT": ("Comment", "Комментарий"),
    "SOURCE": ("Source", "Источник"),
}


@dataclass(frozen=True)
class Observation:
    """One published cell of RR_STATS.

    Checked on construction, so that a bad cell fails where it is made rather than half-way
    through a response, and so that no encoder can publish a withheld value.
    """

    key: tuple[str, str, str, str, str, str]  # values in DIMENSIONS order
    value: int | None  # None when suppressed for confidentiality
    obs_status: str | None  # A, E, P
    conf_status: str  # F, C, D
    unit: str = "PS"
    comment: str | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        if len(self.key) != len(DIMENSIONS) or not all(
            isinstance(v, str) and _ID.fullmatch(v) for v in self.key
        ):
            raise ValueError(f"invalid key {self.key!r}: six codes in DIMENSIONS order")
        if self.value is not None and (
            isinstance(self.value, bool) or not isinstance(self.value, int) or self.value < 0
        ):
            raise ValueError(f"invalid value {self.value!r}: a count of persons, or None")
        if self.conf_status not in _CONF_STATUS:
            raise ValueError(f"invalid CONF_STATUS {self.conf_status!r}")
        if self.conf_status in SUPPRESSED and self.value is not None:
            raise ValueError(
                f"cell {self.key!r} is withheld (CONF_STATUS {self.conf_status}): no value"
            )
        if self.obs_status is not None and self.obs_status not in _OBS_STATUS:
            raise ValueError(f"invalid OBS_STATUS {self.obs_status!r}")
        if not _ID.fullmatch(self.unit):
            raise ValueError(f"invalid UNIT_MEASURE {self.unit!r}")


def language_of(lang: str) -> Literal["en", "ru"]:
    """'ru', 'ru-RU', 'RU' → 'ru'; anything else falls back to English."""
    return "ru" if lang.split("-")[0].lower() == "ru" else "en"


def name_in(pair: tuple[str, str], lang: Literal["en", "ru"]) -> str:
    return pair[1] if lang == "ru" and pair[1] else pair[0]


def code_of(component: str, value: str) -> Code | None:
    codes = CODES.get(component)
    return codes.get(value) if codes else None


def code_name(component: str, value: str, lang: Literal["en", "ru"]) -> str | None:
    code = code_of(component, value)
    return None if code is None else name_in((code.en, code.ru), lang)


def free_text(value: str | None) -> str | None:
    """Free text as published: an empty string is no text."""
    return value or None
