"""Streaming CSV of the RR_STATS cells: SDMX-CSV 2.0 (``sdmx_csv``) and 1.0 (``sdmx_csv_1``), one
row per observation, and recnet's own CSV (``plain_csv``), the same cells without the SDMX
bookkeeping columns.

Each is a generator of UTF-8 chunks of about ``CHUNK_SIZE`` characters; every cell is defused
(``neutralise``) so that a spreadsheet does not evaluate it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Final

from recnet.formats.sdmx.observation import (
    ATTRIBUTES,
    CHUNK_SIZE,
    CONCEPT_NAMES,
    DATAFLOW_NAME,
    STRUCTURE_ID,
    SUPPRESSED,
    Observation,
    code_name,
    free_text,
    language_of,
    name_in,
)
from recnet.schemas.statistics import DIMENSIONS

SDMX_CSV: Final = "application/vnd.sdmx.data+csv;version=2.0.0"
SDMX_CSV_1: Final = "application/vnd.sdmx.data+csv;version=1.0.0"

PLAIN_CSV_COLUMNS: Final = (
    *DIMENSIONS,
    "OBS_VALUE",
    "OBS_STATUS",
    "CONF_STATUS",
    "UNIT_MEASURE",
    "COMMENT",
    "SOURCE",
)

# OWASP's list of characters that make a spreadsheet treat a cell as a formula.
FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A CSV cell that a spreadsheet will not evaluate: a leading apostrophe defuses a formula."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def _csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> Iterator[bytes]:
    # RFC 4180 (CRLF, quoting when needed) via the csv module, on a buffer emptied per chunk.
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
        if buffer.tell() >= CHUNK_SIZE:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def _cells(obs: Observation) -> dict[str, str]:
    value = "" if obs.value is None or obs.conf_status in SUPPRESSED else str(obs.value)
    return {
        **dict(zip(DIMENSIONS, obs.key, strict=True)),
        "OBS_VALUE": value,
        "OBS_STATUS": obs.obs_status or "",
        "UNIT_MEASURE": obs.unit,
        "CONF_STATUS": obs.conf_status,
        "COMMENT": free_text(obs.comment) or "",
        "SOURCE": free_text(obs.source) or "",
    }


def csv_with_header(lines: Iterable[bytes]) -> Iterator[bytes]:
    """The plain CSV's header, then ``lines`` (CSV rows already encoded, e.g. by ``copy_csv``)."""
    yield (",".join(PLAIN_CSV_COLUMNS) + "\r\n").encode()
    yield from lines


def sdmx_csv(
    observations: Iterable[Observation], *, labels: bool = False, lang: str = "en"
) -> Iterator[bytes]:
    """SDMX-CSV 2.0 of the observations, as UTF-8 chunks (no byte-order mark: SDMX readers
    expect the first header cell to be exactly ``STRUCTURE``).

    Columns: STRUCTURE, STRUCTURE_ID, ACTION, the dimensions, OBS_VALUE (empty when withheld),
    the attributes. ``labels=True`` is SDMX-CSV's ``labels=name``: a STRUCTURE_NAME column after
    STRUCTURE_ID, and after each component a column headed by its name in ``lang`` holding the
    name of the code (empty for uncoded components).
    """
    language = language_of(lang)
    components = (*DIMENSIONS, "OBS_VALUE", *ATTRIBUTES)
    header = ["STRUCTURE", "STRUCTURE_ID"]
    if labels:
        header.append("STRUCTURE_NAME")
    header.append("ACTION")
    for component in components:
        header.append(component)
        if labels:
            header.append(name_in(CONCEPT_NAMES[component], language))
    dataflow_name = name_in(DATAFLOW_NAME, language)

    def rows() -> Iterator[list[str]]:
        for obs in observations:
            cells = _cells(obs)
            row = ["dataflow", STRUCTURE_ID, *([dataflow_name] if labels else []), "I"]
            for component in components:
                row.append(cells[component])
                if labels:
                    row.append(code_name(component, cells[component], language) or "")
            yield row

    return _csv(header, rows())


def sdmx_csv_1(observations: Iterable[Observation]) -> Iterator[bytes]:
    """SDMX-CSV 1.0 of the observations, as UTF-8 chunks: DATAFLOW (``RECNET:RR_STATS(1.0)``),
    the dimensions, OBS_VALUE (empty when withheld), the attributes."""
    components = (*DIMENSIONS, "OBS_VALUE", *ATTRIBUTES)
    return _csv(
        ("DATAFLOW", *components),
        ([STRUCTURE_ID, *(cells[c] for c in components)] for cells in map(_cells, observations)),
    )


def plain_csv(observations: Iterable[Observation]) -> Iterator[bytes]:
    """recnet's own CSV of the observations (columns ``PLAIN_CSV_COLUMNS``), as UTF-8 chunks."""
    return _csv(
        PLAIN_CSV_COLUMNS,
        ([cells[c] for c in PLAIN_CSV_COLUMNS] for cells in map(_cells, observations)),
    )
