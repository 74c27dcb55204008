"""Old import path of the SDMX-ML data encoders, kept for ``bench/sdmx_writers.py``: they live in
``recnet.formats.sdmx.ml_data`` (messages) and ``recnet.formats.sdmx.ml_schema`` (the XSD).
"""

from __future__ import annotations

from recnet.formats.sdmx.ml_data import (
    GENERIC,
    STRUCTURE_SPECIFIC,
    generic_data,
    structure_specific_data,
)
from recnet.formats.sdmx.ml_schema import SDMX_SCHEMA, structure_schema

__all__ = [
    "GENERIC",
    "SDMX_SCHEMA",
    "STRUCTURE_SPECIFIC",
    "generic_data",
    "structure_schema",
    "structure_specific_data",
]
