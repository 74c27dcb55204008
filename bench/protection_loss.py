"""What the disclosure control withholds: cells and persons lost, per table.

Runs the engine (``protect``) on the demo's statistics and on partitions of the large monthly
import bench/protection.py uses, and reports for each the cells, the small cells (primary), the
cells withheld to protect them (secondary) and the persons those hide. The engine breaks ties at
random, so each table is protected ``--draws`` times and the secondary figures are averaged.

Run: .venv/bin/python bench/protection_loss.py [--draws 5] [--threshold 5]
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.protection import large_csv  # noqa: E402
from recnet import demo  # noqa: E402
from recnet.services.statistics import protection  # noqa: E402
from recnet.services.statistics.cube import _cube_cells  # noqa: E402

Key = protection.Key
COLUMNS = ("REF_AREA", "INDICATOR", "SEX", "AGE", "COUNTERPART_AREA", "TIME_PERIOD")


def partitions(body: bytes) -> dict[tuple[str, str], dict[Key, int]]:
    """The CSV's cells by indicator and year, as the service partitions them."""
    found: dict[tuple[str, str], dict[Key, int]] = defaultdict(dict)
    for row in csv.DictReader(io.StringIO(body.decode())):
        key: Key = tuple(row[c] for c in COLUMNS)  # type: ignore[assignment]
        found[(row["INDICATOR"], row["TIME_PERIOD"][:4])][key] = int(row["OBS_VALUE"])
    return found


def tables(large_years: int) -> Iterator[tuple[str, dict[Key, int]]]:
    for (indicator, year), cells in sorted(partitions(demo.statistics_csv()).items()):
        yield f"demo {indicator} {year}", cells
    large = partitions(large_csv(100_000))
    for indicator, year in sorted(large)[:large_years]:
        yield f"monthly {indicator} {year}", large[(indicator, year)]


def loss(cells: dict[Key, int], threshold: int, draws: int) -> dict[str, float]:
    cube = _cube_cells(cells)
    secondary: list[int] = []
    hidden: list[int] = []
    primary = 0
    for draw in range(draws):
        release = protection.protect(cube, threshold, rng=random.Random(draw))
        withheld = [
            (value, status)
            for value, status in zip(release.values, release.conf, strict=True)
            if status != protection.PUBLISHED
        ]
        primary = sum(1 for value, _ in withheld if 1 <= value < threshold)
        others = [value for value, _ in withheld if not 1 <= value < threshold]
        secondary.append(len(others))
        hidden.append(sum(others))
    return {
        "cells": len(cube),
        "primary": primary,
        "secondary": sum(secondary) / draws,
        "persons hidden by secondary": sum(hidden) / draws,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--threshold", type=int, default=5)
    parser.add_argument("--large-years", type=int, default=4)
    args = parser.parse_args(argv)
    totals: dict[str, float] = defaultdict(float)
    print(f"{'table':34} {'cells':>6} {'primary':>8} {'secondary':>10} {'persons':>9}")
    for name, cells in tables(args.large_years):
        row = loss(cells, args.threshold, args.draws)
        for field, value in row.items():
            totals[field] += value
        print(
            f"{name:34} {row['cells']:6.0f} {row['primary']:8.0f} {row['secondary']:10.1f} "
            f"{row['persons hidden by secondary']:9.1f}"
        )
    print(
        f"{'all':34} {totals['cells']:6.0f} {totals['primary']:8.0f} {totals['secondary']:10.1f} "
        f"{totals['persons hidden by secondary']:9.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
