"""How long `recnet --help` and `recnet push --help` take to start, before and after the
command's heavy modules became lazy, side by side.

The "before" tree is a revision's ``src/`` (by default the last commit where the command imported
the settings and the service's modules at start), unpacked with ``git archive`` into a temporary
directory; the "after" tree is this work tree's ``src/``. Each command runs ``--runs`` times in a
fresh interpreter per tree, interleaved, and the best wall time counts (the machine is shared:
the best run is the one least disturbed), with the CPU time (user + system) the interpreter
used, which other processes on the machine disturb less. The modules each tree loads are listed
too.

    .venv/bin/python bench/cli_startup.py [--baseline REV] [--runs 5]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The last commit before the lazy imports: `recnet --help` loaded the settings (pydantic) and
# every command module's imports at start.
BASELINE = "ceb56ed"
COMMANDS = (("--help",), ("push", "--help"))
HEAVY = (
    "fastapi",
    "starlette",
    "sqlalchemy",
    "sqlmodel",
    "httpx",
    "openpyxl",
    "uvicorn",
    "jsonschema",
    "pydantic",
    "pydantic_settings",
    "recnet.app",
    "recnet.config",
)

# Runs the command in the tree given first, then reports which heavy modules it loaded.
PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
args = sys.argv[2:]
sys.argv = ["recnet", *args]
from recnet.cli import main
try:
    main()
except SystemExit:
    pass
heavy = json.loads(sys.stdin.read())
sys.stderr.write("\\nLOADED " + json.dumps([m for m in heavy if m in sys.modules]) + "\\n")
"""


def unpack(revision: str, into: Path) -> Path:
    """The revision's src/ tree, read from git without touching the work tree or the index."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision, "src"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(tree: Path, command: tuple[str, ...]) -> tuple[float, float, list[str]]:
    """Wall time, CPU time and the heavy modules loaded, for one run of the command."""
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tree), *command],
        input=json.dumps(HEAVY),
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.perf_counter() - started
    marker = done.stderr.rsplit("LOADED ", 1)[-1]
    return elapsed, _children_cpu() - cpu, json.loads(marker)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=BASELINE, help="the revision to compare with")
    parser.add_argument("--runs", type=int, default=5, help="runs per command and tree")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="recnet-cli-startup-") as tmp:
        trees = {
            f"before ({options.baseline})": unpack(options.baseline, Path(tmp)),
            "after (work tree)": ROOT / "src",
        }
        print(
            f"python {sys.version.split()[0]}; best of {options.runs} runs: wall time "
            f"(CPU time); load average before {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n"
        )
        print(f"| command | {' | '.join(trees)} |")
        print(f"|---|{'---|' * len(trees)}")
        loaded: dict[tuple[str, tuple[str, ...]], list[str]] = {}
        for command in COMMANDS:
            best = {name: float("inf") for name in trees}
            best_cpu = dict(best)
            for _ in range(options.runs):
                for name, tree in trees.items():  # interleaved: both see the same noise
                    elapsed, cpu, modules = run_once(tree, command)
                    best[name] = min(best[name], elapsed)
                    best_cpu[name] = min(best_cpu[name], cpu)
                    loaded[name, command] = modules
            cells = " | ".join(f"{best[name]:.3f} s ({best_cpu[name]:.3f} s)" for name in trees)
            print(f"| `recnet {' '.join(command)}` | {cells} |")
        print()
        for (name, command), modules in loaded.items():
            print(f"{name}, recnet {' '.join(command)}: loads {', '.join(modules) or 'none'}")


if __name__ == "__main__":
    main()
