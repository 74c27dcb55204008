"""The relations among versions: every additive relation of the table that held exactly among
the versions current together in some release, as equations the audit solves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from recnet.services.statistics.protection.release import CURRENT, Key, Version
from recnet.services.statistics.protection.table import Table


class Equation(NamedTuple):
    """``total = sum(parts)`` among versions (indices into a list of versions)."""

    total: int
    parts: tuple[int, ...]


def equations(
    versions: Sequence[Version], *, relevant: Sequence[bool] | None = None
) -> list[Equation]:
    """Every relation that held exactly among the versions current together in some release,
    once each. With ``relevant`` (one flag per version), only relations that hold a relevant
    version are kept: relations among published figures alone tell nothing."""
    flags = relevant if relevant is not None else [v.withheld for v in versions]
    # One table of every cell that ever was; a relation at a release holds the cells then
    # present, each with its version then current.
    by_key: dict[Key, list[int]] = defaultdict(list)
    for i in sorted(range(len(versions)), key=lambda i: versions[i].since):
        by_key[versions[i].key].append(i)
    table = Table(sorted(by_key))
    spans = [by_key[key] for key in table.keys]

    # At each release boundary, the cells whose version began or ended there. A relation none
    # of them is in held the same versions at the boundary before, so it was found there
    # already; only when a cell disappeared (a version ended with none after it) do relations
    # change without their members changing, and then every relation is looked at again.
    begun: dict[int, list[tuple[int, int]]] = defaultdict(list)  # (cell, version)
    ended: dict[int, set[int]] = defaultdict(set)
    for cell, span in enumerate(spans):
        for i in span:
            begun[versions[i].since].append((cell, i))
            if versions[i].until != CURRENT:
                ended[int(versions[i].until)].add(cell)
    current: list[int | None] = [None] * len(spans)  # each cell's version at the boundary
    found: dict[tuple[int, tuple[int, ...]], None] = {}
    for n, release in enumerate(sorted(begun.keys() | ended.keys())):
        for cell in ended[release]:
            current[cell] = None
        for cell, i in begun[release]:
            current[cell] = i
        started = {cell for cell, _ in begun[release]}
        if n == 0 or ended[release] - started:
            # Every relation that holds a relevant version: those of the cells that have one.
            looked_at: Iterable[int] = (
                cell for cell, i in enumerate(current) if i is not None and flags[i]
            )
        else:
            looked_at = started | ended[release]
        relations = {r for cell in looked_at for r in table.relations_of(cell)}
        for relation in relations:
            total = current[Table.total(relation)]
            if total is None:
                continue
            parts = tuple(
                p for p in map(current.__getitem__, table.parts(relation)) if p is not None
            )
            if not parts or not (flags[total] or any(flags[p] for p in parts)):
                continue
            if versions[total].value != sum(versions[p].value for p in parts):
                continue  # it does not add up: no reader can solve with it
            found.setdefault((total, parts), None)
    return [Equation(total, parts) for total, parts in found]
