"""The import contract: recnet's modules import down the layers, never back up.

Every module of ``src/recnet`` is read with ``ast`` (nothing is imported or run), each of its
``recnet`` imports is resolved (relative ones too, and those inside functions), and each is held to
the layers below. A module belongs to the layer of the longest name in ``LAYERS`` that it is, or
that it lies under. It may import its own layer and any layer below; never one above.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.paths import ROOT

SOURCE = ROOT / "src" / "recnet"

# Top to bottom. A module may import its own layer and the layers after it.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # What starts recnet or wires it together: the command, the app factory, the sample data,
    # the agencies' push client.
    ("entry points", ("recnet.__main__", "recnet.cli", "recnet.app", "recnet.demo")),
    # Routes, one module per area, and the server-rendered pages (documentation, explorer).
    ("routes", ("recnet.api.v1", "recnet.web")),
    # What routes share: HTTP helpers (ETag, If-Match, Accept-Language), middleware, the read cache.
    ("api", ("recnet.api",)),
    # Long-running loops (webhook delivery), apart from the CRUD that feeds them.
    ("workers", ("recnet.workers",)),
    # The rules, one module or package per area.
    ("services", ("recnet.services",)),
    # Encoders that are not plain JSON (CSV, SDMX, Atom, JSON Feed): they know schemas only.
    ("formats", ("recnet.formats",)),
    # Who the caller is and what it may see; the SQL that services share.
    ("auth and repositories", ("recnet.auth", "recnet.repositories")),
    # Engines, sessions, the unit of work, bulk writes, migrations.
    ("db", ("recnet.db",)),
    # Tables: persistence only. They may use the published vocabularies, not the reverse.
    ("models", ("recnet.models",)),
    # The published schema: vocabularies, common types, one file per kind of data.
    ("schemas", ("recnet.schemas",)),
    # Below everything. The package itself is named here, so a module at the root that no layer
    # names is a base module: the strictest place, where an import upward fails this test until
    # the module is given its layer.
    ("base", ("recnet", "recnet.config", "recnet.clock", "recnet.errors", "recnet.logs")),
)

# Imports allowed against the layers, each with the reason it is allowed: (importer, imported).
EXCEPTIONS: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int


def layer_of(module: str) -> int:
    """The index in LAYERS of the layer a module belongs to (the longest name that covers it)."""
    best, best_length = -1, -1
    for index, (_, names) in enumerate(LAYERS):
        for name in names:
            covers = module == name or module.startswith(name + ".")
            if covers and len(name) > best_length:
                best, best_length = index, len(name)
    if best < 0:
        raise LookupError(f"{module} is not a recnet module")
    return best


def forbidden(importer: str, imported: str) -> str | None:
    """Why the contract refuses this import, or None when it allows it."""
    if (importer, imported) in EXCEPTIONS:
        return None
    above, below = layer_of(importer), layer_of(imported)
    if below >= above:
        return None
    return f"{LAYERS[above][0]} may not import {LAYERS[below][0]}"


def modules() -> dict[str, tuple[Path, bool]]:
    """Every module of recnet by dotted name: its file and whether it is a package."""
    found: dict[str, tuple[Path, bool]] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        found[".".join(parts)] = (path, is_package)
    return found


def imports_of(module: str, path: Path, is_package: bool, known: set[str]) -> list[Import]:
    """The recnet modules this module imports, wherever the import statement is."""
    found: list[Import] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join(package + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            # `from recnet.api import http` imports the module recnet.api.http.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        for target in dict.fromkeys(targets):
            if target == "recnet" or target.startswith("recnet."):
                found.append(Import(module, target, node.lineno))
    return found


def all_imports() -> list[Import]:
    found = modules()
    known = set(found)
    return [
        edge
        for module, (path, is_package) in found.items()
        for edge in imports_of(module, path, is_package, known)
    ]


def test_imports_go_down_the_layers() -> None:
    broken = sorted(
        f"{edge.importer} -> {edge.imported} (line {edge.line}): {reason}"
        for edge in all_imports()
        if (reason := forbidden(edge.importer, edge.imported)) is not None
    )
    assert not broken, "imports that run back up the layers:\n" + "\n".join(broken)


def test_every_import_resolves_to_a_recnet_module() -> None:
    known = set(modules())
    unknown = sorted(
        f"{edge.importer} -> {edge.imported} (line {edge.line})"
        for edge in all_imports()
        if edge.imported not in known
    )
    assert not unknown, "imports of recnet modules that do not exist:\n" + "\n".join(unknown)


def test_every_name_in_the_contract_is_a_module() -> None:
    known = set(modules())
    named = [name for _, names in LAYERS for name in names]
    assert sorted(name for name in named if name not in known) == []
    assert len(named) == len(set(named)), "a module is named in two layers"
    assert all(pair[0] in known and pair[1] in known for pair in EXCEPTIONS)


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        # The back-up imports this contract was written against (issue 18), by their old names:
        # each must stay refused.
        ("recnet.readcache", "recnet.api.v1.http"),
        ("recnet.api.readcache", "recnet.api.v1.http"),
        ("recnet.auth.principal", "recnet.services.clients"),
        ("recnet.schemas.organisations", "recnet.models.organisation"),
        ("recnet.models.organisation", "recnet.db"),
        ("recnet.models.types", "recnet.db"),
    ],
)
def test_the_contract_refuses_an_import_back_up(importer: str, imported: str) -> None:
    assert forbidden(importer, imported) is not None


def test_the_contract_allows_imports_down_and_within_a_layer() -> None:
    assert forbidden("recnet.api.v1.records", "recnet.services.records") is None
    assert forbidden("recnet.api.v1.records", "recnet.api.readcache") is None
    assert forbidden("recnet.api.readcache", "recnet.api.http") is None
    assert forbidden("recnet.auth.principal", "recnet.repositories.clients") is None
    assert forbidden("recnet.models.organisation", "recnet.schemas.vocabularies") is None
    assert forbidden("recnet.models.types", "recnet.clock") is None
    assert forbidden("recnet.services.records", "recnet.services.events") is None
