"""Reading the files an agency pushes: statistics from CSV or Excel (first sheet), each row
with the line (or sheet row) number the report will name, and practices from a JSON array."""

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


def read_xlsx(path: Path) -> Table:
    """The first sheet of an Excel workbook: the header row names the columns."""
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
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        first = next(rows, None)
        if first is None:
            raise PushError(f"{path}: the first sheet is empty")
        header = [_cell(v) for v in first]
        while header and not header[-1]:
            header.pop()
        records = []
        for number, row in enumerate(rows, start=2):
            values = [_cell(v) for v in row[: len(header)]]
            if any(values):
                records.append(Record(number, values + [""] * (len(header) - len(values))))
    finally:
        workbook.close()
    return Table(header, records, hashlib.sha256(raw).hexdigest(), "row")


def read_table(path: Path) -> Table:
    """A statistics file by its extension: .csv, or .xlsx (first sheet)."""
    if not path.is_file():
        raise PushError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(path)
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(path)
    raise PushError(f"{path}: push statistics reads .csv or .xlsx files")


def read_practices(path: Path) -> list[dict[str, Any]]:
    """A JSON array of practice bodies, each with its ``source_ref``."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PushError(f"{path}: no such file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PushError(f"{path} is not JSON: {exc}") from None
    if not isinstance(document, list) or not all(isinstance(d, dict) for d in document):
        raise PushError(f"{path} must hold a JSON array of practice objects")
    missing = [i + 1 for i, d in enumerate(document) if not d.get("source_ref")]
    if missing:
        raise PushError(f"{path}: items without source_ref: {missing[:20]}")
    refs = [str(d["source_ref"]) for d in document]
    if len(set(refs)) != len(refs):
        raise PushError(f"{path}: the same source_ref appears more than once")
    return document
