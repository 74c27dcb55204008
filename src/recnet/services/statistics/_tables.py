"""What every part of the statistics package shares: the key of a cell and the tables.

An observation and a cube cell are both identified by the six dimensions of ``KEY_COLUMNS``, in
that order, as a ``Key``. Imports write ``OBSERVATIONS`` (what the member states reported); the
cube (``CUBE``) is derived from it and is what queries and exports read; ``HISTORY`` keeps the
values of cube cells that earlier releases published and later ones changed or removed.
"""

from __future__ import annotations

from typing import Any

from recnet.models import CubeCell, CubeHistory, Observation

Key = tuple[str, str, str, str, str, str]
KEY_COLUMNS = ("ref_area", "indicator", "sex", "age", "counterpart_area", "time_period")
# The position in a Key of each dimension whose codes are parts of a total (_T).
HIERARCHICAL = {"SEX": 2, "AGE": 3, "COUNTERPART_AREA": 4}

OBSERVATIONS: Any = Observation.__table__  # type: ignore[attr-defined]
CUBE: Any = CubeCell.__table__  # type: ignore[attr-defined]
HISTORY: Any = CubeHistory.__table__  # type: ignore[attr-defined]
