"""What the disclosure-control engine works on: a cell's key, the statuses a release gives its
cells, a version of a cell, and what ``protect`` decides for a new release.

The positions of the dimensions the relations run along (REF_AREA and TIME_PERIOD) and the member
states are here too: the table, the audit and the hypercube search all read keys by them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, NamedTuple

from recnet.schemas.statistics import DIMENSIONS, MEMBER_STATES

# Dimension values in DIMENSIONS order.
Key = tuple[str, str, str, str, str, str]

PUBLISHED: Final = "F"
PRIMARY: Final = "C"
SECONDARY: Final = "D"
# The one status readers below the owner see for a withheld cell, primary or secondary.
CONFIDENTIAL: Final = "C"
# A version still current: it has no end.
CURRENT: Final = math.inf

_REF_AREA = DIMENSIONS.index("REF_AREA")
_TIME_PERIOD = DIMENSIONS.index("TIME_PERIOD")
_STATES = tuple(sorted(code.id for code in MEMBER_STATES))


@dataclass(frozen=True, slots=True)
class Version:
    """A value a cell had from release ``since`` until (not including) release ``until``, and
    whether it was withheld."""

    key: Key
    since: int
    until: float  # an int, or CURRENT
    value: int
    withheld: bool


class Release(NamedTuple):
    """A new release of a partition: its cells in key order with their values, statuses (F, C
    or D) and the release each version began in; the versions it ends; and failures of the
    audit that no suppression could mend (empty unless history pins a cell)."""

    keys: list[Key]
    values: list[int]
    conf: list[str]
    since: list[int]
    ended: list[Version]
    failures: list[str]


class Previous(NamedTuple):
    """A cell as the last release published it."""

    value: int
    withheld: bool
    since: int
