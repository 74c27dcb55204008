"""Where the project's files are, for tests at any depth of tests/."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The project root: src/, openapi/, examples/."""

SHARED = ROOT.parent / "shared"
"""The shared documents beside the project: DESIGN.md, the official standards."""
