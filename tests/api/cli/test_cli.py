"""The recnet command: help on every subcommand, a light start, its version, migrate, and the
OpenAPI contract check."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from recnet.cli import app, render_openapi

runner = CliRunner()


def _paths(command: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and nested subcommand, as argument paths."""
    found = [prefix] if prefix else []
    if hasattr(command, "commands"):  # a group of commands
        for name, sub in command.commands.items():
            found.extend(_paths(sub, (*prefix, name)))
    return found


SUBCOMMANDS = sorted(_paths(get_command(app)))


def test_the_expected_subcommands_exist() -> None:
    expected = {
        ("serve",), ("migrate",), ("openapi",), ("orgs", "create"), ("orgs", "list"),
        ("clients", "create"), ("clients", "list"), ("clients", "disable"),
        ("clients", "rotate"), ("keys", "rotate"), ("audit", "verify"),
        ("push", "statistics"), ("push", "practices"), ("push", "programmes"),
    }  # fmt: skip
    assert expected <= set(SUBCOMMANDS)


@pytest.mark.parametrize("subcommand", SUBCOMMANDS, ids=" ".join)
def test_every_subcommand_has_help(subcommand: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*subcommand, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


# The service's stack: none of it is needed to print help.
HEAVY = ("fastapi", "starlette", "sqlalchemy", "sqlmodel", "httpx", "openpyxl", "uvicorn",
         "jsonschema", "pydantic_settings", "recnet.app", "recnet.config", "recnet.db")  # fmt: skip

LOADED_BY = """
import json, sys
sys.argv = ["recnet", *json.loads(sys.argv[1])]
from recnet.cli import main
try:
    main()
except SystemExit:
    pass
sys.stderr.write("LOADED " + json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize(
    "args", [("--help",), ("push", "--help"), ("push", "statistics", "--help")], ids=" ".join
)
def test_help_loads_neither_the_service_nor_the_database_layer(args: tuple[str, ...]) -> None:
    """`recnet --help` answers at once: the heavy modules are imported by the commands."""
    done = subprocess.run(
        [sys.executable, "-c", LOADED_BY, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "Usage" in done.stdout
    loaded = set(json.loads(done.stderr.rsplit("LOADED ", 1)[1]))
    assert [m for m in HEAVY if m in loaded] == []


def test_version_prints_the_package_version() -> None:
    import recnet

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"recnet {recnet.__version__}"
    assert recnet.__version__ != "0.0.0"  # read from the installed package's metadata


def test_migrate_creates_and_migrates_the_database(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "fresh.db"
    monkeypatch.setenv("RECNET_DATABASE_URL", f"sqlite:///{path}")
    from recnet.config import get_settings

    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["migrate"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    with sqlite3.connect(path) as connection:
        codes = [r[0] for r in connection.execute("SELECT code FROM organisations ORDER BY code")]
    assert codes == ["KAZ", "KGZ", "TJK", "TKM", "UZB"]


def test_migrate_refuses_unsafe_production_settings(monkeypatch) -> None:
    monkeypatch.setenv("RECNET_ENV", "prod")
    monkeypatch.delenv("RECNET_SECRET_KEY", raising=False)
    from recnet.config import get_settings

    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["migrate"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "configuration refused" in result.output


def test_committed_openapi_document_is_current(project_root: Path) -> None:
    committed = (project_root / "openapi" / "v1.json").read_text(encoding="utf-8")
    assert committed == render_openapi(), "run `recnet openapi --write` and commit openapi/v1.json"


@pytest.mark.slow
def test_openapi_check_passes_on_current_and_fails_on_stale_file(tmp_path: Path) -> None:
    path = tmp_path / "v1.json"
    assert runner.invoke(app, ["openapi", "--write", "--path", str(path)]).exit_code == 0
    assert runner.invoke(app, ["openapi", "--check", "--path", str(path)]).exit_code == 0

    stale = path.read_text(encoding="utf-8").replace('"/v1/health"', '"/v1/healthz"')
    path.write_text(stale, encoding="utf-8")
    result = runner.invoke(app, ["openapi", "--check", "--path", str(path)])
    assert result.exit_code == 1
    assert "stale" in result.output

    missing = runner.invoke(app, ["openapi", "--check", "--path", str(tmp_path / "none.json")])
    assert missing.exit_code == 1
