"""The linear programs of the audit, solved with HiGHS: one instance loaded with a component's
equations and reused for the minimum and maximum of each of its unknowns.
"""

from __future__ import annotations

import highspy
import numpy as np

Rows = list[tuple[list[int], list[float], float]]


class _Solver:
    """One HiGHS instance, reused for every LP of an audit."""

    def __init__(self) -> None:
        # The bare core class: the Python wrapper prints a banner on every construction.
        self.highs = highspy._core._Highs()
        self.highs.setOptionValue("output_flag", False)
        self.solves = 0

    def load(self, n: int, rows: Rows) -> None:
        """The LP: ``n`` non-negative columns, each row an equation (columns, coefficients,
        right-hand side)."""
        by_column: list[list[tuple[int, float]]] = [[] for _ in range(n)]
        for r, (columns, coefficients, _) in enumerate(rows):
            for c, a in zip(columns, coefficients, strict=True):
                by_column[c].append((r, a))
        starts, indices, values = [0], [], []
        for entries in by_column:
            for r, a in entries:
                indices.append(r)
                values.append(a)
            starts.append(len(indices))
        lp = highspy.HighsLp()
        lp.num_col_ = n
        lp.num_row_ = len(rows)
        lp.col_cost_ = np.zeros(n)
        lp.col_lower_ = np.zeros(n)
        lp.col_upper_ = np.full(n, highspy.kHighsInf)
        lp.row_lower_ = np.array([rhs for _, _, rhs in rows], dtype=float)
        lp.row_upper_ = lp.row_lower_
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
        lp.a_matrix_.index_ = np.array(indices, dtype=np.int32)
        lp.a_matrix_.value_ = np.array(values, dtype=float)
        self.highs.clearModel()
        self.highs.passModel(lp)

    def within(
        self, column: int, sign: float, cap: float, other: int, low: float, high: float
    ) -> np.ndarray | None:
        """``extreme`` with column ``other`` held in [low, high] meanwhile; None when no
        solution has it there."""
        highs = self.highs
        highs.changeColBounds(other, low, high)
        try:
            if other == column:
                cap = min(cap, high)
                if cap < low:
                    return None
            highs.changeColCost(column, sign)
            highs.changeColBounds(column, low if other == column else 0.0, cap)
            highs.run()
            self.solves += 1
            status = highs.getModelStatus()
            if status == highspy.HighsModelStatus.kInfeasible:
                return None
            if status != highspy.HighsModelStatus.kOptimal:
                message = highs.modelStatusToString(status)
                raise RuntimeError(f"the disclosure audit's LP ended {message}")
            return np.array(highs.getSolution().col_value)
        finally:
            highs.changeColCost(column, 0.0)
            highs.changeColBounds(column, 0.0, highspy.kHighsInf)
            highs.changeColBounds(other, 0.0, highspy.kHighsInf)

    def extreme(self, column: int, sign: float, cap: float) -> np.ndarray:
        """A solution that minimises (sign 1) or maximises (sign -1) one column, which is held
        at or below ``cap`` meanwhile."""
        highs = self.highs
        highs.changeColCost(column, sign)
        highs.changeColBounds(column, 0.0, cap)
        highs.run()
        self.solves += 1
        status = highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            message = highs.modelStatusToString(status)
            raise RuntimeError(f"the disclosure audit's LP ended {message}")
        solution = np.array(highs.getSolution().col_value)
        highs.changeColCost(column, 0.0)
        highs.changeColBounds(column, 0.0, highspy.kHighsInf)
        return solution
