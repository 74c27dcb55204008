"""An auditor of the published statistics written apart from the engine, as an attacker would.

It rebuilds every additive relation from the keys alone (its own code: no import from the
engine's table), takes what a view can see in every release (published figures fixed; its own
cells, for a member state, known), and for each withheld version solves the smallest and the
largest value it can take with scipy's LP solver. A version is disclosed when fewer than
``threshold`` whole numbers remain possible.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

STATES = ("KAZ", "KGZ", "TJK", "TKM", "UZB")
PARTS = {
    2: ("F", "M"),
    3: ("Y0T4", "Y5T11", "Y12T17", "Y18T59", "Y_GE60", "_U"),
    4: ("SYR", "IRQ", "AFG", "TUR", "_O", "_U"),
}

Key = tuple[str, ...]


@dataclass(frozen=True)
class Seen:
    """One version of a cell as the releases showed it."""

    key: Key
    value: int
    withheld: bool
    releases: frozenset[int]


def _period_parts(period: str) -> list[list[str]]:
    year = period[:4]
    if len(period) == 4:
        return [
            [f"{year}-Q{q}" for q in range(1, 5)],
            [f"{year}-{m:02d}" for m in range(1, 13)],
        ]
    if period[5] == "Q":
        first = (int(period[6]) - 1) * 3 + 1
        return [[f"{year}-{m:02d}" for m in range(first, first + 3)]]
    return []


def relations(keys: set[Key]) -> Iterator[tuple[Key, list[Key]]]:
    """Every (total, present parts) among the keys, with at least one part present."""
    for key in keys:
        for position, parts in PARTS.items():
            if key[position] == "_T":
                found = [
                    k for c in parts if (k := (*key[:position], c, *key[position + 1 :])) in keys
                ]
                if found:
                    yield key, found
        if key[0] == "CAS":
            found = [k for s in STATES if (k := (s, *key[1:])) in keys]
            if found:
                yield key, found
        for periods in _period_parts(key[5]):
            found = [k for p in periods if (k := (*key[:5], p)) in keys]
            if found:
                yield key, found


def disclosed(seen: Sequence[Seen], threshold: int) -> list[tuple[str, Seen, float, float]]:
    """Every (view, version, low, high) a view narrows to fewer than ``threshold`` integers,
    and every small count published to a view below its owner."""
    releases = sorted({r for s in seen for r in s.releases})
    equations: set[tuple[int, tuple[int, ...]]] = set()
    for release in releases:
        current = {s.key: n for n, s in enumerate(seen) if release in s.releases}
        for total, parts in relations(set(current)):
            members = [current[total], *(current[p] for p in parts)]
            if seen[members[0]].value == sum(seen[m].value for m in members[1:]):
                equations.add((members[0], tuple(sorted(members[1:]))))
    found = []
    for view in ("public", *STATES):

        def judged(s: Seen, view: str = view) -> bool:
            return view == "public" or s.key[0] not in (view, "CAS")

        for s in seen:
            if not s.withheld and 1 <= s.value < threshold and judged(s):
                found.append((view, s, float(s.value), float(s.value)))
        unknown = [n for n, s in enumerate(seen) if s.withheld and s.key[0] != view]
        if not unknown:
            continue
        column = {n: c for c, n in enumerate(unknown)}
        rows, cols, data, rhs = [], [], [], []
        for total, parts in sorted(equations):
            constant = 0.0
            entries = []
            for member, sign in ((total, 1.0), *((p, -1.0) for p in parts)):
                if member in column:
                    entries.append((column[member], sign))
                else:
                    constant -= sign * seen[member].value
            if entries:
                for c, a in entries:
                    rows.append(len(rhs))
                    cols.append(c)
                    data.append(a)
                rhs.append(constant)
        matrix = coo_matrix((data, (rows, cols)), shape=(len(rhs), len(unknown))).tocsr()
        settled = {n for n in unknown if not judged(seen[n])}
        reach = threshold - 1
        for n in unknown:
            if n in settled:
                continue
            if not rhs:
                break  # no equation: every unknown is anything from 0 up
            objective = np.zeros(len(unknown))
            objective[column[n]] = 1.0
            bounds = [(0, None)] * len(unknown)
            low = linprog(objective, A_eq=matrix, b_eq=rhs, bounds=bounds, method="highs")
            assert low.status == 0, low.message  # the true values are always a solution
            # The largest, held below the value plus the reach: reaching it is enough.
            bounds[column[n]] = (0, seen[n].value + reach)
            high = linprog(-objective, A_eq=matrix, b_eq=rhs, bounds=bounds, method="highs")
            assert high.status == 0, high.message
            for solution in (low.x, high.x):  # any solution far enough from the truth settles
                settled.update(
                    m for m in unknown if abs(solution[column[m]] - seen[m].value) >= reach - 1e-6
                )
            bottom, top = low.fun, -high.fun
            if math.floor(top + 1e-6) - math.ceil(bottom - 1e-6) + 1 < threshold:
                found.append((view, seen[n], bottom, top))
    return found
