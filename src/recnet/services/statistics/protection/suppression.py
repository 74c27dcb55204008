"""``protect``: the statuses of a new release of a partition. Primary suppression of small cells,
the versions kept from the last release, hypercubes around the small cells, then rounds of audit
and mending until the audit passes, and a last resort when it does not.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Mapping, Sequence

from recnet.schemas.statistics import DIMENSIONS
from recnet.services.statistics.protection.auditor import PUBLIC, Failure, _span, _System
from recnet.services.statistics.protection.hypercube import _hypercube, _weight
from recnet.services.statistics.protection.relations import equations
from recnet.services.statistics.protection.release import (
    _REF_AREA,
    CURRENT,
    PRIMARY,
    PUBLISHED,
    SECONDARY,
    Key,
    Previous,
    Release,
    Version,
)
from recnet.services.statistics.protection.table import Table

# Rounds of audit and mending before the last resort.
_ROUNDS = 3
# Draws of the tie-breaks tried, each with its rounds of mending, before the last resort.
_DRAWS = 3


def _check(cells: Mapping[Key, int]) -> None:
    for key, value in cells.items():
        if len(key) != len(DIMENSIONS):
            raise ValueError(f"key {key!r} does not have one value per dimension {DIMENSIONS}")
        if value < 0:
            raise ValueError(f"cell {key!r} has a negative count {value}")


def protect(
    cells: Mapping[Key, int],
    threshold: int,
    *,
    previous: Mapping[Key, Previous] | None = None,
    history: Sequence[Version] = (),
    release: int = 1,
    rng: random.Random | None = None,
) -> Release:
    """Decide the statuses of release ``release`` of one partition.

    ``cells`` are the exact values now; ``previous`` the cells of the last release and
    ``history`` the versions earlier releases ended. A cell whose value did not change keeps its
    version and its status; the others are new versions, decided here. ``rng`` breaks ties
    between suppressions that cost the same; by default a fresh secret one, so that no reader
    can rerun the choice (tests pass a seeded one to replay it).
    """
    if threshold < 1:
        raise ValueError(f"threshold must be at least 1, not {threshold}")
    previous = previous or {}
    rng = rng or random.Random(secrets.randbits(128))
    if min(cells.values(), default=0) < 0 or any(len(k) != len(DIMENSIONS) for k in cells):
        _check(cells)
    state = rng.getstate()

    def decide(renew: bool) -> Release:
        # An unlucky draw can cover a small cell with cells the relations pin anyway (a zero the
        # regional total fixes, say), which no mending frees; the last resort then withholds
        # every cell the release decides, the states' and the region's totals too, for good.
        # Another draw usually covers it well: each is judged by the same audit.
        for draw in range(_DRAWS):
            decided = _decide(
                cells, threshold, previous, history, release, rng,
                renew=renew, resort=draw == _DRAWS - 1,
            )  # fmt: skip
            if decided is not None:
                return decided
        raise AssertionError("the last draw always decides")

    decided = decide(renew=False)
    if decided.failures and any(b.withheld and k not in cells for k, b in previous.items()):
        # A withheld cell disappeared (its observations were removed): the relations that no
        # longer count it, set beside the last release's among the same unknowns, can tell its
        # value by difference. Then every withheld cell starts a new version (still withheld),
        # so that this release's unknowns are not the last one's; the better release is kept.
        rng.setstate(state)
        renewed = decide(renew=True)
        if len(renewed.failures) < len(decided.failures):
            return renewed
    return decided


def _decide(
    cells: Mapping[Key, int],
    threshold: int,
    previous: Mapping[Key, Previous],
    history: Sequence[Version],
    release: int,
    rng: random.Random,
    *,
    renew: bool,
    resort: bool = True,
) -> Release | None:
    """``protect``'s work, with (``renew``) or without a new version for every withheld cell;
    None when its audit fails and the last resort is not to be taken (``resort``)."""
    keys = sorted(cells)
    values = [cells[key] for key in keys]
    renewed = renew
    since: list[int] = []
    conf: list[str] = []
    free: list[bool] = []  # decided in this release
    for key, value in zip(keys, values, strict=True):
        before = previous.get(key)
        if before is not None and before.value == value and not (renewed and before.withheld):
            since.append(before.since)
            withheld = before.withheld
            conf.append((PRIMARY if 1 <= value < threshold else SECONDARY) if withheld else "F")
            free.append(False)
        else:
            # A cell withheld before stays withheld when its value changes: published, the new
            # value and the totals around it would tell the old one by difference.
            since.append(release)
            small = 1 <= value < threshold
            was_withheld = before is not None and before.withheld
            conf.append(PRIMARY if small else SECONDARY if was_withheld else PUBLISHED)
            free.append(True)
    ended = [
        Version(key, before.since, release, before.value, before.withheld)
        for key, before in sorted(previous.items())
        if key not in cells or cells[key] != before.value or (renewed and before.withheld)
    ]
    table = Table(keys)
    weight = [_weight(key) for key in keys]
    rank = [rng.random() for _ in keys]
    withheld_now = [status != PUBLISHED for status in conf]
    usable_now = [
        status == PUBLISHED and is_free for status, is_free in zip(conf, free, strict=True)
    ]

    def withhold(i: int) -> None:
        conf[i] = SECONDARY
        withheld_now[i] = True
        usable_now[i] = False

    def cover(i: int) -> bool:
        """Withhold a hypercube around cell ``i``; False when none can be."""
        cells = _hypercube(table, i, values, withheld_now, usable_now, threshold, weight, rank)
        if cells is None:
            cells = _hypercube(
                table, i, values, withheld_now, usable_now, threshold, weight, rank, widest=8
            )
        for j in cells or ():
            withhold(j)
        return cells is not None

    # Small cells in a random order: the order changes which hypercubes are chosen.
    for i in sorted(range(len(keys)), key=rank.__getitem__):
        if conf[i] == PRIMARY and free[i]:
            cover(i)

    # The versions the audit judges: every earlier one (ended by now), then the current ones.
    past = [*history, *ended]
    offset = len(past)
    versions = past + [
        Version(key, start, CURRENT, value, status != PUBLISHED)
        for key, value, status, start in zip(keys, values, conf, since, strict=True)
    ]
    # Relations among versions that are published, and stay so, tell nothing.
    relevant = [v.withheld for v in past] + [
        status != PUBLISHED or is_free for status, is_free in zip(conf, free, strict=True)
    ]
    system = _System(versions, equations(versions, relevant=relevant))
    system.reasoning = True
    # What this release can change: the versions it begins and ends. A component of unknowns
    # without one holds the same versions under the same equations as at the last release,
    # whose audit judged it; unless a cell disappeared, which changes equations by itself.
    fresh = (
        None
        if any(k not in cells for k in previous)
        else [v.until == release or v.since == release for v in versions]
    )

    def near(version: int, view: str) -> list[int]:
        """Free published cells in a relation with the version, else with its component."""
        for members in ([version], system.component(version, view)):
            found = {
                j
                for member in members
                if member >= offset
                for relation in table.relations_of(member - offset)
                for j in (Table.total(relation), *table.parts(relation))
                if usable_now[j] and keys[j][_REF_AREA] != view
            }
            if found:
                return sorted(found)
        return []

    def mend(version: int, view: str) -> bool:
        """Withhold more around a failing version: a hypercube around it, else every free cell
        near it. The next round's audit judges."""
        if version >= offset:
            before = sum(withheld_now)
            cover(version - offset)
            if sum(withheld_now) > before:
                for j in range(len(keys)):
                    system.withheld[offset + j] = withheld_now[j]
                return True
        candidates = near(version, view)
        for j in candidates:
            withhold(j)
            system.withheld[offset + j] = True
        return bool(candidates)

    def finished(failures: list[Failure]) -> Release:
        final = [
            Version(v.key, v.since, v.until, v.value, w)
            for v, w in zip(versions, system.withheld, strict=True)
        ]
        return Release(keys, values, conf, since, ended, [f.describe(final) for f in failures])

    for _ in range(_ROUNDS):
        failures = system.audit(threshold, fresh)
        if not failures:
            return finished([])
        mended = False
        handled: set[tuple[str, int]] = set()
        for failure in failures:
            view, version = failure.view, failure.version
            if not system.withheld[version] or (view, version) in handled:
                continue  # a published small count (history explains it), or mended meanwhile
            # One mend per component and round: it may mend the others too.
            handled.update((view, member) for member in system.component(version, view))
            mended = mend(version, view) or mended
        if not mended:
            break
    # Reasoning as a reader who knows why cells are withheld steers the mending; where it
    # cannot be satisfied (a state's one small figure beside nothing it could hide among), the
    # release is judged, as always, by the relations and the flags alone.
    system.reasoning = False
    if not system.audit(threshold, fresh):
        return finished([])
    if not resort:
        return None
    # The last resort, rare (earlier releases bind this one in ways no hypercube undoes): every
    # cell this release decides is withheld. That hides the most; then a withheld cell that is
    # still determined is determined by what was published for good, and is published (it hides
    # nothing). The audit judges what is left.
    for i in range(len(keys)):
        if usable_now[i]:
            withhold(i)
            system.withheld[offset + i] = True
    for failure in system.audit(threshold, fresh):
        i = failure.version - offset
        determined = _span(failure.low, failure.high) == 1
        if failure.view == PUBLIC and i >= 0 and free[i] and conf[i] == SECONDARY and determined:
            conf[i] = PUBLISHED
            withheld_now[i] = False
            system.withheld[failure.version] = False
    return finished(system.audit(threshold, fresh))
