"""The statistics template workbook: an XLSX a data officer fills in and uploads as it is.

The first sheet, ``RR_STATS``, has one column per import column (``schemas.statistics_io.COLUMNS``)
and nothing else: the upload reads the first sheet by default, so the filled-in template goes
back without any change. Every coded column has a drop-down list (Excel data validation) whose
values are the codes of its codelist, kept on a sheet of its own named after the codelist (code,
English label, Russian label): the codes an import accepts, no more (the regional total ``CAS``
is computed by the service, never reported). OBS_VALUE accepts whole numbers from 0; TIME_PERIOD
is a text column, so that ``2024-03`` stays a period and does not become a date.

The workbook depends only on the published structure, which does not change while the process
runs: it is built once, on first use.
"""

from __future__ import annotations

import io
from functools import cache

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from recnet.schemas.statistics import CODELISTS, MEMBER_STATES, Codelist
from recnet.schemas.statistics_io import COLUMNS, REQUIRED_COLUMNS, ObservationIn

DATA_SHEET = "RR_STATS"
NOTES_SHEET = "NOTES"
FILE_NAME = "recnet-statistics-template.xlsx"
# The rows the drop-down lists and number checks cover: every row of an Excel sheet.
LAST_ROW = 1_048_576
_HEADER_FILL = PatternFill("solid", fgColor="DDE7F0")

_HINTS = {
    "REF_AREA": "Your member state (the token's own state).",
    "INDICATOR": "What is counted: pick from the list (sheet CL_INDICATOR).",
    "SEX": "F, M or _T (total).",
    "AGE": "An age group, or _T (total).",
    "COUNTERPART_AREA": "The country people returned from, _O, _U or _T (total).",
    "TIME_PERIOD": "A year (2024), a quarter (2024-Q1) or a month (2024-03).",
    "OBS_VALUE": "A whole number of persons, 0 or more.",
    "OBS_STATUS": "A (normal, the default), E (estimated) or P (provisional).",
    "UNIT_MEASURE": "PS (persons), the default.",
    "SOURCE": "Optional: where the figure comes from.",
    "COMMENT": "Optional: a note about the figure.",
}


def value_bounds() -> tuple[int, int]:
    """The smallest and largest OBS_VALUE an import accepts, as the model declares them."""
    metadata = ObservationIn.model_fields["OBS_VALUE"].metadata
    low = next(m.ge for m in metadata if getattr(m, "ge", None) is not None)
    high = next(m.le for m in metadata if getattr(m, "le", None) is not None)
    return int(low), int(high)


def accepted_codes(column: str) -> list[tuple[str, str, str]]:
    """The codes an import accepts in a coded column, in codelist order: (code, en, ru)."""
    codelist = CODELISTS[column]
    codes = MEMBER_STATES if column == "REF_AREA" else codelist.codes
    return [(code.id, code.en, code.ru) for code in codes]


def coded_columns() -> list[str]:
    """The import columns that hold codes, in column order."""
    return [name for name in COLUMNS if name in CODELISTS]


def _codelist_sheet(workbook: Workbook, column: str, codelist: Codelist) -> str:
    sheet = workbook.create_sheet(codelist.id)
    sheet.append(["CODE", "LABEL_EN", "LABEL_RU"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
    for row in accepted_codes(column):
        sheet.append(list(row))
    sheet.column_dimensions["A"].width = 12
    sheet.column_dimensions["B"].width = 48
    sheet.column_dimensions["C"].width = 48
    sheet.freeze_panes = "A2"
    last = sheet.max_row
    return f"'{codelist.id}'!$A$2:$A${last}"


@cache
def template_bytes() -> bytes:
    """The template workbook, as the bytes of an XLSX file."""
    workbook = Workbook()
    data = workbook.active
    assert data is not None
    data.title = DATA_SHEET
    data.append(list(COLUMNS))
    for index, name in enumerate(COLUMNS, start=1):
        cell = data.cell(row=1, column=index)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        required = "Required. " if name in REQUIRED_COLUMNS else ""
        cell.comment = Comment(required + _HINTS[name], "recnet")
        letter = get_column_letter(index)
        data.column_dimensions[letter].width = max(14, len(name) + 4)
        if name == "TIME_PERIOD":
            data.column_dimensions[letter].number_format = "@"
    data.freeze_panes = "A2"

    for name in coded_columns():
        letter = get_column_letter(COLUMNS.index(name) + 1)
        source = _codelist_sheet(workbook, name, CODELISTS[name])
        validation = DataValidation(
            type="list",
            formula1=source,
            allow_blank=True,
            showDropDown=False,  # (sic) False shows the in-cell arrow
            showErrorMessage=True,
            errorTitle=f"{name}: not a code",
            error=f"Pick a code of {CODELISTS[name].id} from the list.",
        )
        validation.add(f"{letter}2:{letter}{LAST_ROW}")
        data.add_data_validation(validation)

    value_letter = get_column_letter(COLUMNS.index("OBS_VALUE") + 1)
    low, high = value_bounds()
    whole = DataValidation(
        type="whole",
        operator="between",
        formula1=str(low),
        formula2=str(high),
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="OBS_VALUE: not a count",
        error="A whole number of persons, 0 or more.",
    )
    whole.add(f"{value_letter}2:{value_letter}{LAST_ROW}")
    data.add_data_validation(whole)

    notes = workbook.create_sheet(NOTES_SHEET)
    for line in (
        ["recnet statistics template (RR_STATS)"],
        [],
        ["Fill in the first sheet, RR_STATS: one observation a row, from row 2."],
        ["Keep its header row and its sheet first; the other sheets list the codes."],
        ["Upload it as it is (POST /v1/statistics/observations, or the upload desk at /upload)."],
        ["Try a dry run first: it reports every problem by row and column and writes nothing."],
        [],
        ["Column", "Required", "What it holds"],
        *([name, "yes" if name in REQUIRED_COLUMNS else "no", _HINTS[name]] for name in COLUMNS),
    ):
        notes.append(line)
    notes["A1"].font = Font(bold=True, size=13)
    notes.column_dimensions["A"].width = 20
    notes.column_dimensions["C"].width = 70

    workbook.properties.creator = "recnet"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
