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
of the mapping. No relation crosses an indicator or a year, so protecting the cells a year at a
time gives the same result as protecting them all at once (the cube is rebuilt that way).

Limits: each relation is checked on its own. A withheld cell can still be derived by combining
several relations (a chain of equations, or the bounds 0 and 1..threshold-1 an attacker can infer
from D and C), and at threshold 2 a C cell is known to be exactly 1.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Final, NamedTuple

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

# The kinds of relation. A cell can be the total of several relations (a year totals both its
# quarters and its months), so a relation is named by one int: index of its total * _KINDS + kind.
_REGION_KIND, _YEAR_QUARTERS, _YEAR_MONTHS, _QUARTER_MONTHS = range(4)


@dataclass(frozen=True)
class _Hierarchy:
    """A dimension with a total code and part codes: _T and its parts, or the region and its
    member states."""

    kind: int
    position: int
    total: str
    parts: tuple[str, ...]


# In the order relations are listed (which decides the order the worklist takes them in): the
# hierarchies of PARTS, then the region.
_HIERARCHIES = (
    *(
        _Hierarchy(_QUARTER_MONTHS + 1 + n, DIMENSIONS.index(dim), TOTAL, tuple(sorted(codes)))
        for n, (dim, codes) in enumerate(PARTS.items())
    ),
    _Hierarchy(_REGION_KIND, _REF_AREA, REGION, _STATES),
)
_KINDS = _QUARTER_MONTHS + 1 + len(PARTS)


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


# Cells are found by number rather than by key. The codes present in each dimension are ranked
# in order, and a key is read as a number whose digits (most significant first, in mixed radix)
# are the ranks of its codes: numbers sort as their keys do, and the cell that differs from
# another in one code (its total, a part, a parent period) is found by adding a difference of
# digits, instead of building a tuple of six strings and hashing it.


class _Digit(NamedTuple):
    """One dimension's digit: the rank of each code present, and its radix and weight."""

    ranks: dict[str, int]
    radix: int
    weight: int


def _digits(columns: list[list[str]]) -> list[_Digit]:
    codes = [sorted(set(column)) for column in columns]
    weights = [1] * len(codes)
    for position in range(len(codes) - 2, -1, -1):
        weights[position] = weights[position + 1] * len(codes[position + 1])
    return [
        _Digit({code: rank for rank, code in enumerate(ranked)}, len(ranked), weight)
        for ranked, weight in zip(codes, weights, strict=True)
    ]


def _numbers(columns: list[list[str]], digits: list[_Digit]) -> list[int]:
    """Each key's number: the sum of its codes' ranks times their weights (all in C: map, zip
    and sum over whole columns, no Python loop per cell)."""
    weighted = [
        map({code: rank * digit.weight for code, rank in digit.ranks.items()}.__getitem__, column)
        for column, digit in zip(columns, digits, strict=True)
    ]
    return list(map(sum, zip(*weighted, strict=True)))


class _Along(NamedTuple):
    """A hierarchy in numbers: the total's rank, the part ranks present, and what to add to the
    total's number for each part's."""

    kind: int
    weight: int
    radix: int
    total: int
    parts: frozenset[int]
    to_parts: tuple[int, ...]


def _alongs(digits: list[_Digit]) -> list[_Along]:
    """The hierarchies whose total code is present (no relation without it), in _HIERARCHIES
    order."""
    found = []
    for hierarchy in _HIERARCHIES:
        ranks, radix, weight = digits[hierarchy.position]
        total = ranks.get(hierarchy.total)
        if total is None:
            continue
        parts = [ranks[code] for code in hierarchy.parts if code in ranks]
        to_parts = tuple((part - total) * weight for part in parts)
        found.append(_Along(hierarchy.kind, weight, radix, total, frozenset(parts), to_parts))
    return found


class _PeriodLinks(NamedTuple):
    """A period's relations in numbers: what to add for each parent present (with the kind of
    relation), and for the parts present of each kind."""

    parents: tuple[tuple[int, int], ...]
    parts: dict[int, tuple[int, ...]]


def _period_links(digit: _Digit) -> list[_PeriodLinks]:
    """The links of each period present, by its rank."""
    ranks, _, weight = digit
    links = []
    for period, rank in ranks.items():  # in rank order
        related = _period(period)
        parents = tuple(
            (kind, (ranks[parent] - rank) * weight)
            for kind, parent in related.parents
            if parent in ranks
        )
        parts = {
            kind: tuple((ranks[part] - rank) * weight for part in periods if part in ranks)
            for kind, periods in related.parts.items()
        }
        links.append(_PeriodLinks(parents, parts))
    return links


class Statuses(NamedTuple):
    """Cells in key order, each with its count and its CONF_STATUS (F, C or D)."""

    keys: list[Key]
    values: list[int]
    conf: list[str]


def protect(cells: Mapping[Key, int], threshold: int) -> dict[Key, Protected]:
    """Each cell with its published value (or None) and CONF_STATUS: F, C (primary) or D
    (secondary). ``threshold`` is the smallest count that may be published; zero always may."""
    keys, values, conf = statuses(cells, threshold)
    # Protected is immutable and most counts are small, so equal results share one instance.
    withheld = {status: Protected(None, status) for status in (PRIMARY, SECONDARY)}
    published = {value: Protected(value, PUBLISHED) for value in set(values)}
    return {
        key: published[value] if status == PUBLISHED else withheld[status]
        for key, value, status in zip(keys, values, conf, strict=True)
    }


def statuses(cells: Mapping[Key, int], threshold: int) -> Statuses:
    """What ``protect`` decides, as lists in key order (cheaper to go through than a mapping)."""
    if threshold < 1:
        raise ValueError(f"threshold must be at least 1, not {threshold}")
    # Sorted, so the indices (and with them every tie and the worklist order) do not depend on the
    # order of the mapping.
    keys = sorted(cells)
    values = [cells[key] for key in keys]
    if not keys:
        return Statuses(keys, values, [])
    if min(values) < 0 or set(map(len, keys)) != {len(DIMENSIONS)}:
        for key, value in zip(keys, values, strict=True):  # the first wrong cell, for the message
            if len(key) != len(DIMENSIONS):
                raise ValueError(f"key {key!r} does not have one value per dimension {DIMENSIONS}")
            if value < 0:
                raise ValueError(f"cell {key!r} has a negative count {value}")
    columns = [list(map(itemgetter(position), keys)) for position in range(len(DIMENSIONS))]
    digits = _digits(columns)
    periods = _period_links(digits[_TIME_PERIOD])
    _, period_radix, period_weight = digits[_TIME_PERIOD]
    alongs = _alongs(digits)
    along_of = {along.kind: along for along in alongs}
    numbers = _numbers(columns, digits)
    find = dict(zip(numbers, range(len(numbers)), strict=True)).get
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
        number = numbers[total]
        along = along_of.get(kind)
        if along is not None:
            differences = along.to_parts
        else:
            differences = periods[number // period_weight % period_radix].parts[kind]
        found = parts_of[relation] = [
            i for i in map(find, [number + d for d in differences]) if i is not None
        ]
        return found

    def relations(i: int) -> list[int]:
        """Every relation cell ``i`` is in, as a part or as the total."""
        number = numbers[i]
        names: list[int] = []
        kinds: list[int] = []  # of the relations it may be the total of
        # As a part: each hierarchy names the one total the cell belongs to.
        for kind, weight, radix, total_rank, part_ranks, _ in alongs:
            rank = number // weight % radix
            if rank == total_rank:
                kinds.append(kind)
            elif rank in part_ranks:
                total = find(number + (total_rank - rank) * weight)
                if total is not None:
                    names.append(total * _KINDS + kind)
        period = periods[number // period_weight % period_radix]
        for kind, difference in period.parents:
            total = find(number + difference)
            if total is not None:
                names.append(total * _KINDS + kind)
        # As the total: a relation only when at least one part is present.
        kinds.extend(period.parts)
        for kind in kinds:
            if parts(i * _KINDS + kind):
                names.append(i * _KINDS + kind)
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
    return Statuses(keys, values, conf)
