"""The audit that proves the guarantee: for each view, the smallest and largest value of every
withheld version consistent with what the view can read, solved per connected component of
unknowns. ``_System`` holds what is solved (``protect`` changes which versions are withheld as it
mends); ``audit`` judges the versions of a partition as they are.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Sequence
from typing import Final, NamedTuple

import highspy
import numpy as np

from recnet.schemas.statistics import REGION
from recnet.services.statistics.protection.relations import Equation, equations
from recnet.services.statistics.protection.release import _REF_AREA, _STATES, CURRENT, Version
from recnet.services.statistics.protection.solver import Rows, _Solver

_EPSILON = 1e-6


PUBLIC: Final = "public"


class Failure(NamedTuple):
    """A withheld version a view can narrow below the threshold (or a published small count)."""

    view: str  # PUBLIC, or the member state whose view it is
    version: int
    low: float
    high: float

    def describe(self, versions: Sequence[Version]) -> str:
        v = versions[self.version]
        key = ".".join(v.key)
        if not v.withheld:
            return f"{key}: a count of {v.value} is published ({self.view} view)"
        until = "now" if v.until == CURRENT else f"release {int(v.until) - 1}"
        return (
            f"{key} (value {v.value}, releases {v.since} to {until}): the {self.view} view "
            f"narrows it to {self.low:g}..{self.high:g}"
        )


def _span(low: float, high: float) -> int:
    """How many whole numbers lie in [low, high]."""
    return math.floor(high + _EPSILON) - math.ceil(low - _EPSILON) + 1


# The largest component the audit judges as a reader who reasons about why cells are withheld.
_REASONED = 40
# Further than any count: the bound of a column maximised without a cap.
_FAR = 1e9


class _System:
    """The versions of a partition, the equations among them, and which versions are withheld
    (changed by ``protect`` as it withholds more): what the audit solves."""

    def __init__(self, versions: Sequence[Version], found: Sequence[Equation]) -> None:
        self.keys = [v.key for v in versions]
        self.values = [v.value for v in versions]
        self.owners = [v.key[_REF_AREA] for v in versions]
        self.withheld = [v.withheld for v in versions]
        self.current = [v.until == CURRENT for v in versions]
        # The current versions of cells published for the first time (no earlier version): where
        # one is small, a reader may reason that some withheld cell of its component is.
        count = Counter(v.key for v in versions)
        self.first = [v.until == CURRENT and count[v.key] == 1 for v in versions]
        self._knows_small: dict[tuple[str, int], bool] = {}
        # Whether the audit reasons as a reader who knows why cells are withheld (``protect``
        # does while it mends; the verdict and ``audit`` judge the relations and flags alone).
        self.reasoning = False
        self.found = list(found)
        self.touching: list[list[int]] = [[] for _ in versions]
        for n, (total, parts) in enumerate(self.found):
            for member in (total, *parts):
                self.touching[member].append(n)
        self.solver = _Solver()

    def unknown(self, version: int, view: str) -> bool:
        return self.withheld[version] and self.owners[version] != view

    def judged(self, version: int, view: str) -> bool:
        """Whether the view's knowledge of this version is judged. A member state judges the
        other states' cells; a regional total is an unknown to it, but tells it only what it
        implies about those cells (it knows its own share)."""
        return view == PUBLIC or self.owners[version] not in (view, REGION)

    def views(self) -> list[str]:
        """The public view, and each member state that owns a withheld version (a state without
        one sees what the public sees, as far as withheld cells go)."""
        owners = {o for o, w in zip(self.owners, self.withheld, strict=True) if w}
        return [PUBLIC, *sorted(owners & set(_STATES))]

    def component(self, start: int, view: str) -> list[int]:
        """The versions unknown to ``view`` connected to ``start`` by equations, in order."""
        seen = {start}
        queue = deque([start])
        while queue:
            member = queue.popleft()
            for n in self.touching[member]:
                total, parts = self.found[n]
                for other in (total, *parts):
                    if other not in seen and self.unknown(other, view):
                        seen.add(other)
                        queue.append(other)
        return sorted(seen)

    def rows(self, members: Sequence[int], view: str) -> Rows:
        """The equations among ``members`` (a component), in local column numbers."""
        local = {m: i for i, m in enumerate(members)}
        equations = sorted({n for m in members for n in self.touching[m]})
        rows: Rows = []
        for n in equations:
            total, parts = self.found[n]
            columns: list[int] = []
            coefficients: list[float] = []
            rhs = 0.0
            for member, sign in ((total, 1.0), *((p, -1.0) for p in parts)):
                if self.unknown(member, view):
                    columns.append(local[member])
                    coefficients.append(sign)
                else:
                    rhs -= sign * self.values[member]
            rows.append((columns, coefficients, rhs))
        return rows

    def check(self, members: Sequence[int], view: str, threshold: int) -> list[Failure]:
        """Solve one component: the judged versions it narrows too far."""
        truth = np.array([self.values[m] for m in members], dtype=float)
        settled = np.array([not self.judged(m, view) for m in members], dtype=bool)
        if settled.all():
            return []
        rows = self.rows(members, view)
        if not rows:
            return []  # no equation: each version is anything from 0 up
        self.solver.load(len(members), rows)
        reach = threshold - 1
        # A component that first publishes a small cell: a reader may reason that one of its
        # current withheld cells is small (that is why they are withheld), and keep only the
        # solutions where one is. Small components only: in a large one that reasoning leaves
        # next to nothing out.
        small: list[int] = []
        if (
            self.reasoning
            and len(members) <= _REASONED
            and not self.knows_small(view, threshold)
            and any(self.first[m] and 1 <= self.values[m] < threshold for m in members)
        ):
            small = [i for i, m in enumerate(members) if self.current[m]]
        failures = []
        for i, member in enumerate(members):
            if settled[i]:
                continue
            # A solution that moves another version far enough from its value settles it too.
            high = self.reasoned(i, -1.0, truth[i] + reach, small, threshold)
            settled |= np.abs(high - truth) >= reach - _EPSILON
            if settled[i]:
                continue
            low = self.reasoned(i, 1.0, highspy.kHighsInf, small, threshold)
            settled |= np.abs(low - truth) >= reach - _EPSILON
            if _span(low[i], high[i]) < threshold:
                failures.append(Failure(view, member, low[i], high[i]))
        return failures

    def knows_small(self, view: str, threshold: int) -> bool:
        """Whether the view knows a small withheld cell of its own, now: then withheld cells need
        no small unknown to explain them, and it cannot reason that one is."""
        if (view, threshold) not in self._knows_small:
            self._knows_small[view, threshold] = view != PUBLIC and any(
                owner == view and current and withheld and 1 <= value < threshold
                for owner, current, withheld, value in zip(
                    self.owners, self.current, self.withheld, self.values, strict=True
                )
            )
        return self._knows_small[view, threshold]

    def reasoned(
        self, i: int, sign: float, cap: float, small: Sequence[int], threshold: int
    ) -> np.ndarray:
        """The extreme solution for column ``i`` among those where some column of ``small`` is
        small (all of them when ``small`` is empty): the LP's if it has one, else the most
        extreme of the LPs that hold each column of ``small`` in 1..threshold - 1."""
        solution = self.solver.extreme(i, sign, cap)
        top = threshold - 1 + _EPSILON
        if not small or any(1 - _EPSILON <= solution[k] <= top for k in small):
            return solution
        best: np.ndarray | None = None
        for k in small:
            # Uncapped (but bounded, to stay an LP with an optimum): the values where another
            # cell is the small one can lie far beyond the cap, and they count.
            found = self.solver.within(i, sign, _FAR, k, 1.0, threshold - 1.0)
            if found is not None and (best is None or sign * found[i] < sign * best[i]):
                best = found
                if sign * found[i] <= sign * solution[i] + _EPSILON:
                    break  # as far as the LP itself goes
        # The true values are one such solution, so one is found.
        assert best is not None
        return best

    def audit_view(
        self, view: str, threshold: int, fresh: Sequence[bool] | None = None
    ) -> list[Failure]:
        """The view's failures; with ``fresh``, only among the components that hold a fresh
        version (the others are as an earlier audit judged them)."""
        failures = [
            Failure(view, i, value, value)
            for i, value in enumerate(self.values)
            if not self.withheld[i]
            and 1 <= value < threshold
            and self.judged(i, view)
            and (fresh is None or fresh[i])
        ]
        done: set[int] = set()
        for start in range(len(self.values)):
            if start in done or not self.unknown(start, view):
                continue
            members = self.component(start, view)
            done.update(members)
            if fresh is None or any(fresh[m] for m in members):
                failures.extend(self.check(members, view, threshold))
        return failures

    def audit(self, threshold: int, fresh: Sequence[bool] | None = None) -> list[Failure]:
        return [f for view in self.views() for f in self.audit_view(view, threshold, fresh)]


def audit(
    versions: Sequence[Version], threshold: int, found: Sequence[Equation] | None = None
) -> list[Failure]:
    """Every failure of the guarantee over these versions (every release of one partition), for
    every view. Empty when the guarantee holds."""
    if threshold < 1:
        raise ValueError(f"threshold must be at least 1, not {threshold}")
    return _System(versions, equations(versions) if found is None else found).audit(threshold)
