"""Statistical disclosure control of the published cube, with an audit that proves it.

Many of the people counted are children returned from armed-conflict zones: a small count can
identify someone. The cube is published one partition at a time (one indicator and one year: no
relation crosses them), and each release of a partition keeps this guarantee.

The guarantee
-------------
A *view* is what one kind of reader sees: the public view (anonymous readers, researchers and
partners see the same protected figures) and the view of each member state (its own cells
exactly, everyone else's protected). Take everything a view can read through any path, and every
additive relation the cube implies (a total ``_T`` and its parts along SEX, AGE and
COUNTERPART_AREA; the regional total CAS and the member states; a year, its quarters and its
months; a quarter and its months), in every release of the partition since it was first
published. Then for every withheld cell, solving the relations by linear programming with every
published figure fixed and every count non-negative:

1. its value is not determined: the smallest and largest consistent values differ;
2. the consistent values span at least ``threshold`` whole numbers (``RECNET_MIN_CELL``, default
   5: for instance 0 to 4, or 2 to 6), so a reader learns nothing sharper than "a small number,
   maybe none";
3. readers below the owner see one confidential status for every withheld cell (``C``): whether
   it was withheld for being small or to protect another is not shown;
4. it holds over time: a reader who kept every earlier release learns nothing more. A cell's
   value is a *version*; a release is judged together with every earlier release's relations
   among the versions then current (a version unchanged across releases is one unknown, as a
   reader who follows the change feed knows which cells an import changed).

Zero is published (it identifies nobody). What it does not promise: a relation that does not
add up in the reported figures (a stock at the year's end is not the sum of its quarters, or an
agency's total differs from its parts) is not used, because no reader can solve with it; and a
reader who learns figures from outside recnet (a press release, the agency itself) can combine
them with what is published. Beyond the guarantee, ``protect`` mends as if a reader
reasoned why cells are withheld: where a release first publishes a small cell, one of the
current withheld cells of its component must be small, so only solutions where one is count
(components of up to ``_REASONED`` versions); it withholds more where that narrows a cell, when
it can. Where it cannot (a state's one small figure with nothing beside it to hide among), the
release is judged by the guarantee alone and published. Not covered either: a published cell
that turns small later and so becomes withheld; the small cell looked for among a release's new
versions; a reader who replays the engine over candidate tables (which cells are small changes
which hypercube is cheapest). In some layouts those narrow a withheld cell (the strict xfails
in tests/unit/test_protection.py).

How
---
``protect`` decides the statuses of a new release. Cells of 1 to ``threshold - 1`` persons are
withheld (primary). A version withheld before stays withheld, and one published before stays
published (withholding it again would hide nothing from a reader who kept it). A cell withheld
before stays withheld when its value changes (the new value beside totals that moved with it
would tell the old one by difference), and when a withheld cell disappears every withheld cell
starts a new version, so that the relations without it are not set beside the last release's
among the same unknowns. Then secondary suppression, as tau-Argus's hypercube method does it:
around each small cell, the lightest hypercube of cells (one other code along each dimension it
has relations in: a sibling part, its total, the regional total, a sibling or parent period)
whose corners can move together, up and down, by ``threshold - 1`` while every relation still
adds up; its corners are withheld. A cell weighs more the more it totals; the choice does not
weigh the values it hides, and ties go by a random order drawn for each release and never
shown, so no reader can replay the choice. Then the audit; a cell it still finds narrowed gets
a hypercube of its own, else the cells next to it. If a few rounds do not mend it (earlier
releases can bind this one), every cell this release decides is withheld, and what is still
determined by figures published for good is published.
The audit (``audit``) is the judge: for each view it solves, per connected component of
unknown cells (published cells are constants), the minimum and maximum of each withheld cell with
HiGHS; a solution found on the way that already moves another cell far enough settles that cell
too, so most cells need no LP of their own.

Where
-----
``release`` holds the data (keys, statuses, versions, releases); ``table`` the cells of a partition
and their relations; ``relations`` the equations among versions; ``solver`` the LPs (HiGHS);
``auditor`` the audit; ``hypercube`` the secondary suppression; ``suppression`` ``protect`` itself.
"""

from __future__ import annotations

from recnet.services.statistics.protection.auditor import PUBLIC, Failure, audit
from recnet.services.statistics.protection.relations import Equation, equations
from recnet.services.statistics.protection.release import (
    CONFIDENTIAL,
    CURRENT,
    PRIMARY,
    PUBLISHED,
    SECONDARY,
    Key,
    Previous,
    Release,
    Version,
)
from recnet.services.statistics.protection.suppression import protect
from recnet.services.statistics.protection.table import Table

__all__ = [
    "CONFIDENTIAL",
    "CURRENT",
    "PRIMARY",
    "PUBLIC",
    "PUBLISHED",
    "SECONDARY",
    "Equation",
    "Failure",
    "Key",
    "Previous",
    "Release",
    "Table",
    "Version",
    "audit",
    "equations",
    "protect",
]
