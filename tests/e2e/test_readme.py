"""The README's walkthroughs run as written: every fenced ``sh`` block of README.md, in order,
with bash, against a real ``recnet serve`` of the demo network on a fresh database — as a reader
does after ``make run``: the demo's printed ``export`` lines pasted first, then each block.

A block may be left out only by a marker the reader sees too, on the line before it:
``<!-- not run by tests/e2e/test_readme.py: why -->``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import PG_URL, _create_pg_database, _drop_pg_database
from tests.paths import ROOT
from tests.served import database_url, served

README = ROOT / "README.md"
SKIP_MARKER = re.compile(r"<!-- not run by tests/e2e/test_readme\.py: (?P<why>[^>]+?) -->")
FENCE = re.compile(r"^```(?P<lang>\S*)\s*$")


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence, 1-based
    code: str
    skipped: str | None  # why, when the README marks it as not run


def sh_blocks(text: str) -> list[Block]:
    """The fenced ``sh`` blocks of a Markdown text, in order, with their skip markers."""
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        if opening["lang"] == "sh":
            before = next((ln for ln in reversed(lines[:index]) if ln.strip()), "")
            marker = SKIP_MARKER.fullmatch(before.strip())
            blocks.append(
                Block(index + 1, "\n".join(lines[index + 1 : end]), marker and marker["why"])
            )
        index = end + 1
    return blocks


def demo_exports(output: str) -> list[str]:
    """The ``export NAME=value`` lines `recnet demo` printed for the reader to paste."""
    return [ln for ln in output.splitlines() if re.fullmatch(r"export [A-Z_]+=\S+", ln)]


def script(blocks: list[Block], exports: list[str]) -> str:
    """One bash script: the pasted exports, then every block that runs, each announced."""
    parts = ["set -euo pipefail", *exports]
    for block in blocks:
        if block.skipped is None:
            parts.append(f"echo '>>> README.md block at line {block.line}' >&2")
            parts.append(block.code)
    return "\n".join(parts) + "\n"


def test_sh_blocks_are_found_with_their_markers() -> None:
    text = (
        "intro\n```sh\necho one\n```\n\n<!-- not run by tests/e2e/test_readme.py: a server -->\n"
        "```sh\nmake run\n```\n```python\nprint(1)\n```\n```sh\necho two\necho three\n```\n"
    )
    found = sh_blocks(text)
    assert [(b.line, b.code, b.skipped) for b in found] == [
        (2, "echo one", None),
        (7, "make run", "a server"),
        (13, "echo two\necho three", None),
    ]


def test_readme_skips_few_blocks_and_checks_every_status() -> None:
    blocks = sh_blocks(README.read_text(encoding="utf-8"))
    skipped = [b for b in blocks if b.skipped]
    assert len(skipped) <= 2, [b.line for b in skipped]
    assert len(blocks) - len(skipped) >= 6
    for block in blocks:
        if block.skipped:
            continue
        assert "open " not in block.code, f"line {block.line}: `open` is macOS only"
        assert "127.0.0.1" not in block.code.replace("${RECNET_URL:-http://127.0.0.1:8000}", ""), (
            f"line {block.line}: reach the server through $RECNET_URL"
        )
        # Every request either fails on an error status or has its status checked.
        for command in re.split(r"\$\(|\n(?=\S)", block.code):
            if "curl " in command:
                checked = "--fail-with-body" in command or "%{http_code}" in command
                assert checked, f"line {block.line}: {command.strip()[:80]}"


def test_make_run_prints_what_the_walkthroughs_use(tmp_path: Path) -> None:
    """`make run` runs `recnet demo`, whose exports are the names the README's blocks use."""
    recipe = re.search(r"^run:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M)
    assert recipe is not None
    assert "recnet demo" in recipe[1]
    assert "recnet serve" in recipe[1]
    output = _recnet(database_url(tmp_path), "demo").stdout
    names = {ln.split("=")[0].removeprefix("export ") for ln in demo_exports(output)}
    assert names == {
        "RECNET_CLIENT_ID",
        "RECNET_CLIENT_SECRET",
        "PARTNER_CLIENT_ID",
        "PARTNER_CLIENT_SECRET",
    }
    code = "\n".join(b.code for b in sh_blocks(README.read_text(encoding="utf-8")))
    for name in names:
        assert f"${name}" in code, name


def _recnet(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "recnet", *args],
        env={**os.environ, "RECNET_DATABASE_URL": url, "RECNET_ENV": "dev"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(params=["sqlite", *(["postgresql"] if PG_URL else [])])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield database_url(tmp_path)
        return
    assert PG_URL is not None
    url = _create_pg_database(PG_URL)
    try:
        yield url
    finally:
        _drop_pg_database(PG_URL, url)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_readme_runs_as_written(fresh_database: str, tmp_path: Path) -> None:
    url = fresh_database
    if url.startswith("postgresql"):
        _recnet(url, "migrate")  # `make run` is on the embedded database, which demo migrates
    exports = demo_exports(_recnet(url, "demo").stdout)
    # The reader's working directory: the checkout, whose .venv the blocks call.
    workdir = tmp_path / "reader"
    workdir.mkdir()
    (workdir / ".venv").symlink_to(ROOT / ".venv")
    blocks = sh_blocks(README.read_text(encoding="utf-8"))
    (workdir / "readme.sh").write_text(script(blocks, exports), encoding="utf-8")
    with served(tmp_path, RECNET_DATABASE_URL=url) as (base, _):
        run = subprocess.run(
            ["bash", "readme.sh"],
            cwd=workdir,
            env={**os.environ, "RECNET_URL": base, "RECNET_DATABASE_URL": url, "RECNET_ENV": "dev"},
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    announced = re.findall(r">>> README.md block at line (\d+)", run.stderr)
    assert len(announced) == len([b for b in blocks if b.skipped is None])
    assert '"organisation": "UZB"' in run.stdout or '"organisation":"UZB"' in run.stdout
    assert run.stdout.rstrip().endswith("304")
