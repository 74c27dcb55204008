"""How often the disclosure control fails its audit, over many random tables or series of releases.

The test suite runs a fixed, small set of random examples on every run; this runs as many as you
ask for, from a seed, with the same generators (tests/unit/test_protection.py) and the same
independent auditor (tests/protection_audit.py). As the service does, a release the engine
reports it cannot protect is refused (its import is not applied): the scan counts those, and
reports each example where the auditor finds a published release that narrows a withheld cell
(there should be none).

Run: .venv/bin/python bench/protection_scan.py [--series] [--examples 400] [--seed 1]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.protection_audit import disclosed  # noqa: E402
from tests.unit.test_protection import release_series, series, tables  # noqa: E402


def scan(examples: int, seed: int, over_time: bool) -> tuple[int, int, list[dict[str, Any]]]:
    failed: list[dict[str, Any]] = []
    count = refused = 0

    @hypothesis_seed(seed)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(drawn=series() if over_time else tables(), threshold=st.integers(3, 10))
    def one(drawn: Any, threshold: int) -> None:
        nonlocal count, refused
        count += 1
        releases_of = drawn if over_time else [drawn]
        # As the service does it: a release the engine cannot protect is refused.
        releases, seen = release_series(releases_of, threshold, refuse=True)
        refused += len(releases_of) - len(releases)
        found = disclosed(seen, threshold)
        if found:
            removed = any(set(a) - set(b) for a, b in itertools.pairwise(releases_of))
            failed.append(
                {
                    "threshold": threshold,
                    "releases": len(releases_of),
                    "cells_removed": removed,
                    "narrowed": [str(f) for f in found[:2]],
                    "audited": len(found),
                }
            )

    one()
    return count, refused, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", action="store_true", help="series of releases, not tables")
    parser.add_argument("--examples", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    count, refused, failed = scan(args.examples, args.seed, args.series)
    kind = "series of releases" if args.series else "tables"
    print(
        f"{count} random {kind} (seed {args.seed}): {refused} release(s) refused; "
        f"{len(failed)} published a narrowed cell, {sum(f['cells_removed'] for f in failed)} "
        f"of them after cells were removed ({time.perf_counter() - started:.0f} s)"
    )
    for failure in failed:
        print(" ", failure)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
