"""Statistics uploaded as an Excel workbook (XLSX): one sheet read as rows of an import.

The sheet is the first unless the upload names one (by its name, or its number from 1). Its first
row is the header, RR_STATS column names as in a CSV; each following row with a value is an
observation, numbered by its Excel row (the header is row 1, like a CSV's line 1), and the import
report names the sheet and the Excel column letter of every column a problem is in.

A workbook is a ZIP of XML parts, so its size on the wire says little about the work of reading
it: before anything is parsed, the ZIP's directory is checked (the number of parts and their
uncompressed size, against ``MAX_UNCOMPRESSED_BYTES``), which refuses a ZIP bomb without
inflating it; the sheet is then read row by row (openpyxl's read-only mode) and reading stops at
``MAX_ROWS`` rows or ``MAX_CELLS`` cells (413: split the file, or send CSV, which reads several
times faster: openpyxl reads some 5,000 to 10,000 rows a second).

Cells become the text a CSV would hold: whole numbers without a decimal point, dates and times as
ISO dates (a date in TIME_PERIOD, which Excel makes of ``2024-03``, reads as the month ``2024-03``),
formulas by the value Excel last computed.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any, NamedTuple

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from recnet.errors import PayloadTooLarge, ValidationProblem
from recnet.schemas.statistics_io import COLUMNS, REQUIRED_COLUMNS

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 100_000
MAX_CELLS = 1_500_000
MAX_COLUMNS = 50
MAX_UNCOMPRESSED_BYTES = 128 * 1_048_576
MAX_PARTS = 2_000
# openpyxl reads the shared strings, styles and workbook parts whole, into Python objects, before
# a row is read (about 6 MiB of memory and 0.4 s of CPU per MiB of shared strings, measured by
# the red team): each part but the sheets themselves, which are streamed, has its own bound.
MAX_SHARED_STRINGS_BYTES = 16 * 1_048_576
MAX_OTHER_PART_BYTES = 8 * 1_048_576
SHARED_STRINGS = "xl/sharedStrings.xml"
MAX_SHEET_NAME = 100


class RowProblem(NamedTuple):
    """A row that cannot be read as an observation at all, in place of its values."""

    code: str
    column: str | None
    message: str


class Sheet:
    """The sheet an upload is read from: its title, and the letter of each header column."""

    def __init__(self, title: str, letters: dict[str, str]) -> None:
        self.title = title
        self.letters = letters

    def where(self, column: str | None) -> str:
        """Where a column is in the workbook, as a person finds it: sheet and column letter."""
        if column in self.letters:
            return f"sheet {self.title!r}, column {self.letters[column]}"
        return f"sheet {self.title!r}"


def _check_archive(body: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(body))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ValidationProblem(
            "The body is not an XLSX workbook (an Office Open XML spreadsheet, as Excel or "
            "LibreOffice save it). An older .xls file must be saved again as .xlsx, or as CSV."
        ) from None
    with archive:
        parts = archive.infolist()
        if len(parts) > MAX_PARTS:
            raise PayloadTooLarge(f"The workbook has more than {MAX_PARTS} parts.")
        inflated = sum(part.file_size for part in parts)
        if inflated > MAX_UNCOMPRESSED_BYTES:
            raise PayloadTooLarge(
                f"The workbook holds {inflated} bytes once unpacked, more than the limit of "
                f"{MAX_UNCOMPRESSED_BYTES}: split it into several files, or send CSV."
            )
        for part in parts:
            if part.filename.startswith("xl/worksheets/"):
                continue  # read a row at a time, bounded by MAX_ROWS and MAX_CELLS
            bound = (
                MAX_SHARED_STRINGS_BYTES
                if part.filename == SHARED_STRINGS
                else MAX_OTHER_PART_BYTES
            )
            if part.file_size > bound:
                raise PayloadTooLarge(
                    f"The workbook's part {part.filename[:100]!r} holds {part.file_size} bytes "
                    f"once unpacked, more than the limit of {bound}: save the data alone in a "
                    "new workbook (no pictures, few distinct texts), or send CSV."
                )


def _choose(workbook: Any, wanted: str | None) -> Any:
    sheets = workbook.worksheets
    if not sheets:
        raise ValidationProblem("The workbook has no worksheet.")
    if wanted is None:
        return sheets[0]
    for sheet in sheets:
        if sheet.title == wanted:
            return sheet
    if wanted.strip().isdigit() and 1 <= int(wanted) <= len(sheets):
        return sheets[int(wanted) - 1]
    names = ", ".join(repr(str(s.title)) for s in sheets[:20])
    raise ValidationProblem(
        f"The workbook has no sheet {wanted[:MAX_SHEET_NAME]!r}: give its name, or its number "
        f"from 1 to {len(sheets)} (the sheets: {names})."
    )


def cell_text(value: Any, column: str | None = None) -> str:
    """A cell's value as the text a CSV would hold ("" for an empty cell)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        if column == "TIME_PERIOD":
            return f"{value.year:04d}-{value.month:02d}"
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    return str(value).strip()


def parse_xlsx(body: bytes, sheet: str | None) -> tuple[Sheet, Iterator[tuple[int, Any]]]:
    """The sheet an upload is read from, and its rows numbered by Excel row, as ``parse_csv``
    gives them (the header is checked before any row is read)."""
    _check_archive(body)
    try:
        workbook = load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of error for a damaged file
        raise ValidationProblem(
            "The workbook could not be read: it is damaged, or not an XLSX file. Open it in "
            "a spreadsheet and save it again as .xlsx, or as CSV."
        ) from None
    try:
        chosen = _choose(workbook, sheet)
        title = str(chosen.title)
        rows = _readable(chosen.iter_rows(values_only=True))
        first = next(rows, None)
        header = [cell_text(v).upper() for v in (first or ())][: MAX_COLUMNS + 1]
        while header and not header[-1]:
            header.pop()
    except Exception:
        workbook.close()
        raise
    try:
        _check_header(header, title)
    except ValidationProblem:
        workbook.close()
        raise
    letters = {name: get_column_letter(i + 1) for i, name in enumerate(header)}
    return Sheet(title, letters), _rows(workbook, rows, header)


def _readable(rows: Iterator[Any]) -> Iterator[Any]:
    """The rows of a sheet, with the error of an XML part that cannot be read (damaged, or an
    attack such as entities that expand without end, which the parser refuses) as a 422."""
    number = 0
    while True:
        try:
            values = next(rows)
        except StopIteration:
            return
        except Exception:
            raise ValidationProblem(
                f"The sheet could not be read after row {number}: the workbook is damaged or "
                "holds XML a spreadsheet does not write. Open it in a spreadsheet and save it "
                "again as .xlsx, or as CSV."
            ) from None
        number += 1
        yield values


def _check_header(header: list[str], title: str) -> None:
    if len(header) > MAX_COLUMNS:
        raise ValidationProblem(f"The sheet {title!r} has more than {MAX_COLUMNS} columns.")
    named = [h for h in header if h]
    unknown = [h for h in named if h not in COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if unknown or missing or len(set(named)) != len(named) or len(named) != len(header):
        raise ValidationProblem(
            f"Row 1 of the sheet {title!r} must name RR_STATS columns once each, with no empty "
            "cell between them"
            + (f"; unknown: {', '.join(u[:40] for u in unknown[:10])}" if unknown else "")
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + " (the template at /v1/statistics/template.xlsx has them all)."
        )


def _rows(workbook: Any, rows: Iterator[Any], header: list[str]) -> Iterator[tuple[int, Any]]:
    width = len(header)
    cells = 0
    try:
        for number, row in enumerate(rows, start=2):
            if number - 1 > MAX_ROWS:
                raise PayloadTooLarge(
                    f"The sheet has more than {MAX_ROWS} rows: split it into several files, "
                    "or send CSV."
                )
            cells += len(row)
            if cells > MAX_CELLS:
                raise PayloadTooLarge(
                    f"The sheet has more than {MAX_CELLS} cells: split it into several files, "
                    "or send CSV."
                )
            beyond = [i for i in range(width, len(row)) if row[i] not in (None, "")]
            values = {
                name: text
                for name, value in zip(header, row, strict=False)
                if (text := cell_text(value, name)) != ""
            }
            if beyond:
                yield (
                    number,
                    RowProblem(
                        "UNNAMED_COLUMN",
                        None,
                        f"The row has a value in column {get_column_letter(beyond[0] + 1)}, "
                        "which the header does not name",
                    ),
                )
            elif values:
                yield number, values
    finally:
        workbook.close()
