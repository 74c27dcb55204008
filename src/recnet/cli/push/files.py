"""Reading the files an agency pushes: statistics from CSV or Excel (a chosen sheet, the first by
default), each row with the line (or sheet row) number the report will name, and practices or
programmes from a JSON array."""

from __future__ import annotations

import csv
import hashlib
import importlib
import io
import json
from pathlib import Path
from typing import Any

from recnet.cli.push.client import PushError, Record, Table


def read_csv(path: Path) -> Table:
    """The rows of a CSV file, each with the file line number the server would report."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PushError(f"{path} is not UTF-8 text") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise PushError(f"{path} is empty")
    records = [
        Record(reader.line_num, row)
        for row in reader
        if row and not (len(row) == 1 and not row[0].strip())
    ]
    return Table(header, records, hashlib.sha256(raw).hexdigest(), "line")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _sheet(workbook: Any, path: Path, wanted: str | None) -> Any:
    """The sheet named ``wanted``, else the one at that position (from 1); the first by default."""
    sheets = workbook.worksheets
    if wanted is None:
        return sheets[0]
    for sheet in sheets:
        if sheet.title == wanted:
            return sheet
    if wanted.strip().isdigit() and 1 <= int(wanted) <= len(sheets):
        return sheets[int(wanted) - 1]
    names = ", ".join(repr(s.title) for s in sheets)
    raise PushError(
        f"{path} has no sheet {wanted!r}: give a name or a number from 1 to {len(sheets)} "
        f"(the sheets: {names})"
    )


def read_xlsx(path: Path, sheet: str | None = None) -> Table:
    """One sheet of an Excel workbook (the first unless named or numbered): the header row
    names the columns."""
    try:
        openpyxl: Any = importlib.import_module("openpyxl")
    except ImportError:
        raise PushError("reading .xlsx needs openpyxl: pip install 'recnet[xlsx]'") from None
    raw = path.read_bytes()
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a bad file
        raise PushError(f"{path} is not a readable .xlsx workbook: {exc}") from None
    try:
        chosen = _sheet(workbook, path, sheet)
        rows = chosen.iter_rows(values_only=True)
        first = next(rows, None)
        if first is None:
            raise PushError(f"{path}: the sheet {chosen.title!r} is empty")
        header = [_cell(v) for v in first]
        while header and not header[-1]:
            header.pop()
        records = []
        for number, row in enumerate(rows, start=2):
            values = [_cell(v) for v in row[: len(header)]]
            if any(values):
                records.append(Record(number, values + [""] * (len(header) - len(values))))
        title = str(chosen.title)
    finally:
        workbook.close()
    # The sheet is part of what is pushed: two sheets of one workbook are two pushes, with keys
    # of their own.
    digest = hashlib.sha256(raw + b"\0" + title.encode()).hexdigest()
    return Table(header, records, digest, "row")


def read_table(path: Path, sheet: str | None = None) -> Table:
    """A statistics file by its extension: .csv, or .xlsx (a sheet, the first by default)."""
    if not path.is_file():
        raise PushError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        if sheet is not None:
            raise PushError(f"{path}: --sheet is for .xlsx workbooks")
        return read_csv(path)
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(path, sheet)
    raise PushError(f"{path}: push statistics reads .csv or .xlsx files")


def read_records(path: Path, kind: str = "practice") -> list[dict[str, Any]]:
    """A JSON array of practice (or programme) bodies, each with its ``source_ref``."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PushError(f"{path}: no such file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PushError(f"{path} is not JSON: {exc}") from None
    if not isinstance(document, list) or not all(isinstance(d, dict) for d in document):
        raise PushError(f"{path} must hold a JSON array of {kind} objects")
    missing = [i + 1 for i, d in enumerate(document) if not d.get("source_ref")]
    if missing:
        raise PushError(f"{path}: items without source_ref: {missing[:20]}")
    refs = [str(d["source_ref"]) for d in document]
    if len(set(refs)) != len(refs):
        raise PushError(f"{path}: the same source_ref appears more than once")
    return document
