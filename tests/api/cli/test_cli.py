"""The recnet command: help on every subcommand, migrate, and the OpenAPI contract check."""

from __future__ import annotations

import sqlite3
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
    }  # fmt: skip
    assert expected <= set(SUBCOMMANDS)


@pytest.mark.parametrize("subcommand", SUBCOMMANDS, ids=" ".join)
def test_every_subcommand_has_help(subcommand: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*subcommand, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


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
