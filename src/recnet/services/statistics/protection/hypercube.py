"""Secondary suppression by hypercubes, as tau-Argus does it: around a small cell, the lightest
set of cells whose corners can move together, up and down, by ``threshold - 1`` while every
relation still adds up. What a cell weighs (``_weight``) is decided here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations, product
from operator import itemgetter

from recnet.schemas.statistics import DIMENSIONS, PARTS, REGION, TOTAL, period_frequency
from recnet.services.statistics.protection.release import _REF_AREA, _STATES, _TIME_PERIOD, Key
from recnet.services.statistics.protection.table import Table, _period

# A move along one dimension: codes and the sign each moves with, such that every relation of
# that dimension still adds up (a part and a sibling in opposite directions, a part and its
# total together, a year with a quarter and a month of it...).
Move = tuple[tuple[str, int], ...]
_HIERARCHICAL = {DIMENSIONS.index(dim): (TOTAL, codes) for dim, codes in PARTS.items()}
_YEAR_PERIODS = 17  # a year, its quarters and its months


def _year_periods(year: str) -> list[str]:
    return [
        year,
        *(f"{year}-Q{q}" for q in range(1, 5)),
        *(f"{year}-{m:02d}" for m in range(1, 13)),
    ]


_PeriodRelation = tuple[str, tuple[str, ...]]


def _period_relations(present: frozenset[str]) -> list[_PeriodRelation]:
    relations = []
    for period in sorted(present):
        for parts in _period(period).parts.values():
            found = tuple(p for p in parts if p in present)
            if found:
                relations.append((period, found))
    return relations


_PERIOD_MOVES: dict[tuple[str, frozenset[str], frozenset[_PeriodRelation]], list[Move]] = {}


def _period_moves(
    period: str, present: frozenset[str], broken: frozenset[_PeriodRelation]
) -> list[Move]:
    """Every move of at most four periods, ``period`` up by one, that keeps every relation
    among the present periods that adds up (not those ``broken``); memoised: a
    partition has few shapes."""
    cached = _PERIOD_MOVES.get((period, present, broken))
    if cached is not None:
        return cached
    relations = [r for r in _period_relations(present) if r not in broken]
    others = sorted(present - {period})
    moves: list[Move] = []
    if not any(period == t or period in ps for t, ps in relations):
        moves = [((period, 1),)]
    else:
        for size in range(1, 4):
            for chosen in combinations(others, size):
                for signs in product((1, -1), repeat=size):
                    move = {period: 1, **dict(zip(chosen, signs, strict=True))}
                    if all(
                        move.get(t, 0) == sum(move.get(p, 0) for p in ps) for t, ps in relations
                    ):
                        moves.append(tuple(sorted(move.items())))
            if moves:  # the smallest moves only: a larger one withholds more
                break
    if len(_PERIOD_MOVES) > 10_000:
        _PERIOD_MOVES.clear()
    _PERIOD_MOVES[(period, present, broken)] = moves
    return moves


def _replaced(key: Key, position: int, code: str) -> Key:
    """The key with one dimension's code replaced."""
    changed = list(key)
    changed[position] = code
    return tuple(changed)  # type: ignore[return-value]


def _moves(table: Table, i: int, values: Sequence[int]) -> list[list[Move]]:
    """The moves of cell ``i`` along each dimension with a relation (a dimension without one
    keeps its code)."""
    key = table.keys[i]
    index = table.index

    def present(position: int, code: str) -> bool:
        return _replaced(key, position, code) in index

    found: list[list[Move]] = []
    moves: list[Move]
    for position, (total, parts) in _HIERARCHICAL.items():
        code = key[position]
        siblings = [p for p in sorted(parts) if p != code and present(position, p)]
        if code == total:
            moves = [((code, 1), (p, 1)) for p in siblings]
        elif code in parts and present(position, total):
            moves = [((code, 1), (p, -1)) for p in siblings]
            moves.append(((code, 1), (total, 1)))
        else:
            moves = []
        found.append(moves or [((code, 1),)])
    area = key[_REF_AREA]
    if area == REGION:
        moves = [((area, 1), (s, 1)) for s in _STATES if present(_REF_AREA, s)]
    elif present(_REF_AREA, REGION):
        # With the regional total, not another state: a state knows its own cells.
        moves = [((area, 1), (REGION, 1))]
    else:
        moves = []
    found.append(moves or [((area, 1),)])
    period = key[_TIME_PERIOD]
    periods = frozenset(p for p in _year_periods(period[:4]) if present(_TIME_PERIOD, p))
    # Relations of this cell's periods that do not add up (a stock, a total reported apart from
    # its parts) bind nothing: the audit leaves them out too.
    value = {p: values[index[_replaced(key, _TIME_PERIOD, p)]] for p in periods}
    broken = frozenset(
        (t, parts)
        for t, parts in _period_relations(periods)
        if value[t] != sum(value[p] for p in parts)
    )
    found.append(_period_moves(period, periods, broken))
    return found


_POSITIONS = (*_HIERARCHICAL, _REF_AREA, _TIME_PERIOD)
_PERIOD_LEVEL = {"M": 0, "Q": 1, "A": 2}
# Each level of totalling doubles a cell's weight (bench/protection_loss.py: with 2, about 6%
# fewer cells withheld than weighing by value did and a quarter more persons hidden; with 1,
# the cell count alone, twice the persons).
_WEIGHT_BASE = 2


def _weight(key: Key) -> int:
    """What withholding a cell costs, from its key alone: more the more it totals (a total
    along a dimension, the regional total, a quarter, a year), as totals hide more persons."""
    level = sum(key[position] == TOTAL for position in _HIERARCHICAL)
    level += (key[_REF_AREA] == REGION) + _PERIOD_LEVEL[period_frequency(key[_TIME_PERIOD])]
    return int(_WEIGHT_BASE**level)


def _hypercube(
    table: Table,
    i: int,
    values: Sequence[int],
    withheld: Sequence[bool],
    usable: Sequence[bool],
    threshold: int,
    weight: Sequence[int],
    rank: Sequence[float],
    widest: int = 3,
) -> list[int] | None:
    """The lightest set of cells to withhold with cell ``i`` so that moving them together (the
    corners of a hypercube, each up or down) shifts it by ``threshold - 1`` in all, while every
    relation still adds up: the cells, or None when no such set can be withheld.

    The choice does not weigh the values of the cells it may withhold: a reader who knows this
    code and reruns it on every table consistent with a release must not find that only some of
    them give its pattern of withheld cells. A hypercube costs the ``weight`` of the cells it
    adds (from their keys), and ties go by ``rank``, a random order drawn afresh for each
    release; only whether a hypercube can move far enough looks at values."""
    key = table.keys[i]
    index = table.index
    reach = threshold - 1
    unusable = 1 << 40

    def step(position: int, move: Move) -> tuple[int, float]:
        cost = 0
        order = 0.0
        for code, _ in move:
            if code == key[position]:
                continue
            j = index.get(_replaced(key, position, code))
            if j is None or not (withheld[j] or usable[j]):
                return unusable, 0.0
            cost += 0 if withheld[j] else weight[j]
            order += rank[j]
        return cost, order

    per_dimension = [
        sorted(((*step(position, move), move) for move in moves), key=itemgetter(0, 1))[:widest]
        for position, moves in zip(_POSITIONS, _moves(table, i, values), strict=True)
    ]
    # The cells one step away along each dimension are corners of their own: the sum of the
    # steps' costs bounds a hypercube's from below. Cheapest bounds first, then stop at the
    # first bound no cheaper than the best hypercube found.
    choices = sorted(
        (
            sum(cost for cost, _, _ in steps),
            sum(order for _, order, _ in steps),
            [move for _, _, move in steps],
        )
        for steps in product(*per_dimension)
    )
    best: tuple[int, list[int]] | None = None
    for bound, _, combination in choices:
        if bound >= unusable or (best is not None and bound >= best[0]):
            break
        corners: dict[int, int] = {}
        cost = 0
        for assignment in product(*combination):
            corner = list(key)
            sign = 1
            for position, (code, direction) in zip(_POSITIONS, assignment, strict=True):
                corner[position] = code
                sign *= direction
            j = index.get(tuple(corner))  # type: ignore[arg-type]
            if j is None or not (withheld[j] or usable[j]):
                break
            corners[j] = sign
            if not withheld[j]:
                cost += weight[j]
            if best is not None and cost >= best[0]:
                break
        else:
            up = min((values[j] for j, s in corners.items() if s < 0), default=unusable)
            down = min(values[j] for j, s in corners.items() if s > 0)
            if up + down >= reach and (best is None or cost < best[0]):
                best = (cost, sorted(j for j in corners if not withheld[j]))
    return None if best is None else best[1]
