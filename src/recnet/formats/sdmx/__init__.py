"""The SDMX encoders of the aggregate statistics (RR_STATS), one module per message.

- ``observation``: ``Observation``, one published cell, and what every encoder shares;
- ``json_data`` (with ``json_state``): SDMX-JSON 1.0 and 2.0 data messages;
- ``csv_data``: SDMX-CSV 2.0 and 1.0, and recnet's own plain CSV;
- ``ml_data``: SDMX-ML 2.1 generic and structure-specific data messages; ``ml_schema`` the XSD of
  the structure-specific ones;
- ``ml_structure`` and ``json_structure`` (with ``artefacts``): SDMX-ML 2.1 and SDMX-JSON 1.0
  structure messages of the artefacts ``services.sdmx_structures`` selects.

Data encoders are generators of UTF-8 chunks, meant for a streaming response. The cells and the
tabular encoders (``from recnet.formats import sdmx``; ``sdmx.sdmx_json`` ...) are named here.
"""

from __future__ import annotations

from recnet.formats.sdmx.csv_data import (
    FORMULA_START,
    PLAIN_CSV_COLUMNS,
    SDMX_CSV,
    SDMX_CSV_1,
    csv_with_header,
    neutralise,
    plain_csv,
    sdmx_csv,
    sdmx_csv_1,
)
from recnet.formats.sdmx.json_data import SDMX_JSON, SDMX_JSON_2, sdmx_json
from recnet.formats.sdmx.json_state import JsonVersion
from recnet.formats.sdmx.observation import (
    ATTRIBUTES,
    CHUNK_SIZE,
    STRUCTURE_ID,
    SUPPRESSED,
    Observation,
)

__all__ = [
    "ATTRIBUTES",
    "CHUNK_SIZE",
    "FORMULA_START",
    "PLAIN_CSV_COLUMNS",
    "SDMX_CSV",
    "SDMX_CSV_1",
    "SDMX_JSON",
    "SDMX_JSON_2",
    "STRUCTURE_ID",
    "SUPPRESSED",
    "JsonVersion",
    "Observation",
    "csv_with_header",
    "neutralise",
    "plain_csv",
    "sdmx_csv",
    "sdmx_csv_1",
    "sdmx_json",
]
