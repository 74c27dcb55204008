"""Old import path of the SDMX structure messages, kept for ``bench/sdmx_writers.py``: they live
in ``recnet.formats.sdmx.ml_structure`` (SDMX-ML 2.1) and ``recnet.formats.sdmx.json_structure``
(SDMX-JSON 1.0).
"""

from __future__ import annotations

from recnet.formats.sdmx.json_structure import SDMX_JSON_STRUCTURE, structure_json
from recnet.formats.sdmx.ml_structure import SDMX_ML_STRUCTURE, structure_xml

__all__ = ["SDMX_JSON_STRUCTURE", "SDMX_ML_STRUCTURE", "structure_json", "structure_xml"]
