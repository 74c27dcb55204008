"""Aggregate statistics: imports with a precise report, the protected cube, and queries.

A member state imports its own figures; each import is validated whole, written, and the cube of
every partition (an indicator and a year) it touched is rebuilt as a new release: reported cells
plus regional totals and annual roll-ups, protected by disclosure control together with every
earlier release. Readers below member-state level only ever see the cube's
published values; the owning member state (its own REF_AREA) and the secretariat see exact
figures (the rule is ``auth.visibility.sees_exact_statistics``, and ``exact_statistics`` in SQL).

- ``validation``: parsing (JSON, CSV), validation and its report (``Problems``).
- ``imports``: ``run_import`` and its writes, after ``validation``.
- ``workbook``: reading an uploaded XLSX sheet into the rows ``imports`` validates, bounded.
- ``template``: the template workbook agencies fill in (columns, codelist sheets, drop-downs).
- ``cube``: ``rebuild_cube``, the cells derived from the observations and their protection
  (``protection/``: suppression and the audit);
  ``audit_cube``, the disclosure audit of every stored release.
- ``queries``: ``CubeFilters``, ``cube_query`` and ``published``, the cells as a reader sees them.
- ``export``: ``csv_in_database``, the CSV export written by the database itself.
- ``_tables``: the key of a cell and the tables, shared by the others.

The names callers use are re-exported here: ``from recnet.services import statistics`` is enough.
"""

from recnet.services.statistics._tables import Key
from recnet.services.statistics.cube import PartitionAudit, audit_cube
from recnet.services.statistics.export import copies_csv, csv_in_database
from recnet.services.statistics.imports import ImportRequest, run_import
from recnet.services.statistics.queries import (
    CubeFilters,
    PublishedCell,
    aggregate_filters,
    cube_frequency,
    cube_query,
    published,
)

__all__ = [
    "CubeFilters",
    "ImportRequest",
    "Key",
    "PartitionAudit",
    "PublishedCell",
    "aggregate_filters",
    "audit_cube",
    "copies_csv",
    "csv_in_database",
    "cube_frequency",
    "cube_query",
    "published",
    "run_import",
]
