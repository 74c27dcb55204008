"""Statistical disclosure control for the published aggregate statistics (RR_STATS).

Many of the people counted are children returned from armed-conflict zones, so a small count can
identify someone. ``protect`` decides, for a set of cells, which may be published:

1. Primary suppression: a cell with ``1 <= value < threshold`` is withheld (CONF_STATUS ``C``).
   Zero is published: it identifies nobody.
2. Secondary suppression: cells are linked by relations "a total and its parts" (along SEX, AGE,
   COUNTERPART_AREA via ``_T``; the region ``CAS`` and its member states; a year and its quarters,
   a year and its months, a quarter and its months). A relation with exactly one withheld cell
   would give it away by subtraction, so one more of its cells is withheld (``D``): the smallest
   positive published part (a zero only if no other), or the total when no part is left. This
   repeats until no relation has exactly one withheld cell.

Relations are formed only from the cells given, and are not assumed to add up exactly: a stock
indicator's year is not the sum of its quarters, yet withholding both is the cautious choice.
The function is pure (no database); the same cells always give the same result, whatever the order
of the mapping.

Limits: each relation is checked on its own. A withheld cell can still be derived by combining
several relations (a chain of equations, or the bounds 0 and 1..threshold-1 an attacker can infer
from D and C), and at threshold 2 a C cell is known to be exactly 1.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from recnet.schemas.statistics import (
    DIMENSIONS,
    MEMBER_STATES,
    PARTS,
    REGION,
    TOTAL,
    normalise_period,
    period_frequency,
    period_quarter,
    period_year,
)

# Dimension values in DIMENSIONS order.
Key = tuple[str, str, str, str, str, str]

PUBLISHED: Final = "F"
PRIMARY: Final = "C"
SECONDARY: Final = "D"


@dataclass(frozen=True)
class Protected:
    """A cell as it may be published: its value, or None when withheld, and its CONF_STATUS."""

    value: int | None
    conf: str


_REF_AREA = DIMENSIONS.index("REF_AREA")
_TIME_PERIOD = DIMENSIONS.index("TIME_PERIOD")
_STATES = tuple(sorted(code.id for code in MEMBER_STATES))
_STATE_SET = frozenset(_STATES)

# The kinds of relation. A cell can be the total of several relations (a year totals both its
# quarters and its months), so a relation is named by one int: index of its total * _KINDS + kind.
_REGION_KIND, _YEAR_QUARTERS, _YEAR_MONTHS, _QUARTER_MONTHS = range(4)


@dataclass(frozen=True)
class _Hierarchy:
    """A dimension whose _T code is the total of its part codes."""

    kind: int
    position: int
    parts: tuple[str, ...]
    part_set: frozenset[str]


_HIERARCHIES = tuple(
    _Hierarchy(_QUARTER_MONTHS + 1 + n, DIMENSIONS.index(dim), tuple(sorted(codes)), codes)
    for n, (dim, codes) in enumerate(PARTS.items())
)
_KINDS = _QUARTER_MONTHS + 1 + len(_HIERARCHIES)


@dataclass(frozen=True)
class _Period:
    """How one period is related to others: the periods it is a part of, and it is the total of."""

    parents: tuple[tuple[int, str], ...]
    parts: dict[int, tuple[str, ...]]


def _period(period: str) -> _Period:
    if normalise_period(period) != period:
        raise ValueError(
            f"TIME_PERIOD {period!r} is not a normalised period (2024, 2024-Q1, 2024-03)"
        )
    year = period_year(period)
    frequency = period_frequency(period)
    if frequency == "A":
        quarters = tuple(f"{year}-Q{q}" for q in range(1, 5))
        months = tuple(f"{year}-{m:02d}" for m in range(1, 13))
        return _Period((), {_YEAR_QUARTERS: quarters, _YEAR_MONTHS: months})
    if frequency == "Q":
        first = (int(period[6]) - 1) * 3 + 1
        months = tuple(f"{year}-{m:02d}" for m in range(first, first + 3))
        return _Period(((_YEAR_QUARTERS, year),), {_QUARTER_MONTHS: months})
    quarter = period_quarter(period)
    assert quarter is not None  # a monthly period always falls in a quarter
    return _Period(((_YEAR_MONTHS, year), (_QUARTER_MONTHS, quarter)), {})


def protect(cells: Mapping[Key, int], threshold: int) -> dict[Key, Protected]:
    """Each cell with its published value (or None) and CONF_STATUS: F, C (primary) or D
    (secondary). ``threshold`` is the smallest count that may be published; zero always may."""
    if threshold < 1:
        raise ValueError(f"threshold must be at least 1, not {threshold}")
    # Sorted, so the indices (and with them every tie and the worklist order) do not depend on the
    # order of the mapping.
    keys = sorted(cells)
    values = [cells[key] for key in keys]
    for key, value in zip(keys, values, strict=True):
        if len(key) != len(DIMENSIONS):
            raise ValueError(f"key {key!r} does not have one value per dimension {DIMENSIONS}")
        if value < 0:
            raise ValueError(f"cell {key!r} has a negative count {value}")
    periods = {period: _period(period) for period in {key[_TIME_PERIOD] for key in keys}}
    # Keyed by plain tuples: the neighbouring keys below are built by slicing, not as Key.
    index: dict[tuple[str, ...], int] = {key: i for i, key in enumerate(keys)}
    find = index.get
    conf = [PRIMARY if 1 <= value < threshold else PUBLISHED for value in values]

    # Relations are built only around withheld cells, when first needed: with few small counts
    # most cells are never looked at, and with many the cost is still a few lookups per cell.
    parts_of: dict[int, list[int]] = {}

    def parts(relation: int) -> list[int]:
        """The present parts of a relation; empty when there are none (no relation, then)."""
        found = parts_of.get(relation)
        if found is not None:
            return found
        total, kind = divmod(relation, _KINDS)
        key = keys[total]
        candidates: list[tuple[str, ...]]
        if kind == _REGION_KIND:
            candidates = [(state, *key[1:]) for state in _STATES]
        elif kind > _QUARTER_MONTHS:
            at = _HIERARCHIES[kind - _QUARTER_MONTHS - 1].position
            codes = _HIERARCHIES[kind - _QUARTER_MONTHS - 1].parts
            candidates = [(*key[:at], code, *key[at + 1 :]) for code in codes]
        else:
            part_periods = periods[key[_TIME_PERIOD]].parts[kind]
            candidates = [(*key[:_TIME_PERIOD], period) for period in part_periods]
        found = parts_of[relation] = [i for i in map(find, candidates) if i is not None]
        return found

    def relations(i: int) -> list[int]:
        """Every relation cell ``i`` is in, as a part or as the total."""
        key = keys[i]
        names: list[int] = []
        # As a part: each hierarchy names the one total the cell belongs to.
        for hierarchy in _HIERARCHIES:
            at = hierarchy.position
            if key[at] in hierarchy.part_set:
                total = find((*key[:at], TOTAL, *key[at + 1 :]))
                if total is not None:
                    names.append(total * _KINDS + hierarchy.kind)
        if key[_REF_AREA] in _STATE_SET:
            total = find((REGION, *key[1:]))
            if total is not None:
                names.append(total * _KINDS + _REGION_KIND)
        period = periods[key[_TIME_PERIOD]]
        for kind, parent in period.parents:
            total = find((*key[:_TIME_PERIOD], parent))
            if total is not None:
                names.append(total * _KINDS + kind)
        # As the total: a relation only when at least one part is present.
        kinds = [h.kind for h in _HIERARCHIES if key[h.position] == TOTAL]
        if key[_REF_AREA] == REGION:
            kinds.append(_REGION_KIND)
        kinds.extend(period.parts)
        names.extend(i * _KINDS + kind for kind in kinds if parts(i * _KINDS + kind))
        return names

    withheld: dict[int, int] = defaultdict(int)
    for i, status in enumerate(conf):
        if status != PUBLISHED:
            for relation in relations(i):
                withheld[relation] += 1

    # Worklist of relations with exactly one withheld cell. Withholding a cell only raises counts,
    # so a relation leaves the list for good once it reaches two, and enters it only at 0 → 1.
    worklist = deque(relation for relation, count in withheld.items() if count == 1)
    while worklist:
        relation = worklist.popleft()
        if withheld[relation] != 1:
            continue
        # The smallest positive published part loses the least information (a withheld zero
        # hides little: a relation of zeros gives it back); ties go to the smallest key, the
        # smallest index. With no published part left, the lone withheld cell is a part, and the
        # total is what would give it away.
        candidates = [
            (values[p] == 0, values[p], p) for p in parts(relation) if conf[p] == PUBLISHED
        ]
        chosen = min(candidates)[2] if candidates else relation // _KINDS
        conf[chosen] = SECONDARY
        for other in relations(chosen):
            withheld[other] += 1
            if withheld[other] == 1:
                worklist.append(other)

    # Protected is immutable and most counts are small, so equal results share one instance.
    made: dict[tuple[int, str], Protected] = {}
    result: dict[Key, Protected] = {}
    for key, value, status in zip(keys, values, conf, strict=True):
        protected = made.get((value, status))
        if protected is None:
            protected = made[(value, status)] = Protected(
                value if status == PUBLISHED else None, status
            )
        result[key] = protected
    return result
