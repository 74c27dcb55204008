"""The cells of one partition and the additive relations among them.

``Table`` finds, by number rather than by key, every relation a cell is in: a total ``_T`` and its
parts along SEX, AGE and COUNTERPART_AREA, the regional total and the member states, a year with
its quarters and its months, a quarter with its months.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import NamedTuple

from recnet.schemas.statistics import (
    DIMENSIONS,
    PARTS,
    REGION,
    TOTAL,
    normalise_period,
    period_frequency,
    period_quarter,
    period_year,
)
from recnet.services.statistics.protection.release import _REF_AREA, _STATES, _TIME_PERIOD, Key

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


class _Along(NamedTuple):
    """A hierarchy in numbers: the total's rank, the part ranks present, and what to add to the
    total's number for each part's."""

    kind: int
    weight: int
    radix: int
    total: int
    parts: frozenset[int]
    to_parts: tuple[int, ...]


class _PeriodLinks(NamedTuple):
    """A period's relations in numbers: what to add for each parent present (with the kind of
    relation), and for the parts present of each kind."""

    parents: tuple[tuple[int, int], ...]
    parts: dict[int, tuple[int, ...]]


class Table:
    """The cells of one partition (keys in order, indexed from 0) and the relations among them.

    A relation is a total and its present parts; it exists only when the total and at least one
    part are present. It is named by an int (see ``_KINDS``).
    """

    def __init__(self, keys: Sequence[Key]) -> None:
        self.keys = list(keys)
        self.index = {key: i for i, key in enumerate(self.keys)}
        if not self.keys:
            self._numbers: list[int] = []
            self._find: dict[int, int] = {}
            return
        columns = [list(map(itemgetter(p), self.keys)) for p in range(len(DIMENSIONS))]
        digits = _digits(columns)
        period_digit = digits[_TIME_PERIOD]
        self._period_weight, self._period_radix = period_digit.weight, period_digit.radix
        self._periods = self._period_links(period_digit)
        self._alongs = self._along(digits)
        self._along_of = {along.kind: along for along in self._alongs}
        weighted = [
            map({code: rank * d.weight for code, rank in d.ranks.items()}.__getitem__, column)
            for column, d in zip(columns, digits, strict=True)
        ]
        self._numbers = list(map(sum, zip(*weighted, strict=True)))
        self._find = dict(zip(self._numbers, range(len(self._numbers)), strict=True))
        self._parts: dict[int, list[int]] = {}

    @staticmethod
    def _along(digits: list[_Digit]) -> list[_Along]:
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

    @staticmethod
    def _period_links(digit: _Digit) -> list[_PeriodLinks]:
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

    def parts(self, relation: int) -> list[int]:
        """The present parts of a relation; empty when there are none (no relation, then)."""
        found = self._parts.get(relation)
        if found is not None:
            return found
        total, kind = divmod(relation, _KINDS)
        number = self._numbers[total]
        along = self._along_of.get(kind)
        if along is not None:
            differences = along.to_parts
        else:
            period = number // self._period_weight % self._period_radix
            differences = self._periods[period].parts[kind]
        find = self._find.get
        found = self._parts[relation] = [
            i for i in map(find, [number + d for d in differences]) if i is not None
        ]
        return found

    @staticmethod
    def total(relation: int) -> int:
        return relation // _KINDS

    def relations_of(self, i: int) -> list[int]:
        """Every relation cell ``i`` is in, as a part or as the total."""
        number = self._numbers[i]
        find = self._find.get
        names: list[int] = []
        kinds: list[int] = []  # of the relations it may be the total of
        for kind, weight, radix, total_rank, part_ranks, _ in self._alongs:
            rank = number // weight % radix
            if rank == total_rank:
                kinds.append(kind)
            elif rank in part_ranks:
                total = find(number + (total_rank - rank) * weight)
                if total is not None:
                    names.append(total * _KINDS + kind)
        period = self._periods[number // self._period_weight % self._period_radix]
        for kind, difference in period.parents:
            total = find(number + difference)
            if total is not None:
                names.append(total * _KINDS + kind)
        kinds.extend(period.parts)
        for kind in kinds:
            if self.parts(i * _KINDS + kind):
                names.append(i * _KINDS + kind)
        return names

    def relations(self) -> Iterator[int]:
        """Every relation of the table, once."""
        for i in range(len(self.keys)):
            for relation in self.relations_of(i):
                if relation // _KINDS == i:
                    yield relation
