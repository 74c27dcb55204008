"""Statistics imports, before anything is written: parsing and validation, and the report.

The body of an import is parsed (``parse_json``, ``parse_csv``; ``workbook.parse_xlsx`` for an
Excel sheet) into numbered rows, and validated whole (``validate``: codes, periods, values,
duplicates, the caller's own REF_AREA; ``check_consistency``: totals against their parts). Every
problem goes into one report (``Problems``) with its rows, numbered as the sender numbers them
(lines, items, Excel rows).
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pydantic import ValidationError

from recnet.errors import ValidationProblem
from recnet.schemas.statistics import PARTS, TOTAL
from recnet.schemas.statistics_io import (
    COLUMNS,
    REQUIRED_COLUMNS,
    Conflict,
    ObservationIn,
    observation_values,
    plain_observation,
)
from recnet.services.statistics._tables import HIERARCHICAL, Key
from recnet.services.statistics.workbook import RowProblem

MAX_LISTED_ROWS = 100


class Row(NamedTuple):
    """A valid row of an import: its number (line or index), key and attributes."""

    number: int
    key: Key
    value: int
    status: str
    unit: str
    source: str | None
    comment: str | None

    @property
    def attributes(self) -> tuple[int, str, str, str | None, str | None]:
        return (self.value, self.status, self.unit, self.source, self.comment)


# ---------------------------------------------------------------- problems


@dataclass
class Problems:
    """Conflicts grouped by (severity, code, column, message): one entry however many rows."""

    groups: dict[tuple[str, str, str | None, str], list[int]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def add(self, severity: str, code: str, column: str | None, message: str, row: int) -> None:
        self.groups[(severity, code, column, message)].append(row)

    @property
    def errors(self) -> bool:
        return any(severity == "error" for severity, *_ in self.groups)

    def error_rows(self) -> set[int]:
        return {
            row
            for (severity, *_), rows in self.groups.items()
            if severity == "error"
            for row in rows
        }

    def report(self) -> list[Conflict]:
        return [
            Conflict(
                severity=severity,
                code=code,
                column=column,
                message=message,
                rows=sorted(rows)[:MAX_LISTED_ROWS],
                count=len(rows),
            )
            for (severity, code, column, message), rows in sorted(
                self.groups.items(), key=lambda item: (item[0][0], min(item[1]))
            )
        ]


_ERROR_CODES = {
    "invalid_code": "INVALID_CODE",
    "invalid_period": "INVALID_PERIOD",
    "missing": "MISSING_VALUE",
    "extra_forbidden": "UNKNOWN_COLUMN",
    "string_too_long": "TOO_LONG",
}
_MESSAGES = {
    "INVALID_CODE": "{column} holds a code not in its codelist (see /v1/statistics/structure)",
    "INVALID_PERIOD": "TIME_PERIOD must be a year, quarter or month: 2024, 2024-Q1 or 2024-03",
    "MISSING_VALUE": "{column} is required",
    "UNKNOWN_COLUMN": "{column} is not a column of RR_STATS",
    "TOO_LONG": "{column} is too long",
    "INVALID_VALUE": "{column} must be a whole number of persons, 0 or more",
}


def _describe(error: Any) -> tuple[str, str | None, str]:
    column = str(error["loc"][0]) if error.get("loc") else None
    code = _ERROR_CODES.get(error["type"], "INVALID_VALUE")
    message = _MESSAGES[code].format(column=column or "the row")
    if code == "INVALID_VALUE" and column != "OBS_VALUE":
        message = f"{column} has an invalid value"
    return code, column, message


# ---------------------------------------------------------------- parsing


def parse_json(body: bytes) -> Iterator[tuple[int, Any]]:
    """Rows of ``{"observations": [...]}``, numbered from 1, each released once handed out."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise ValidationProblem("The body is not valid JSON.") from None
    if not isinstance(document, dict) or not isinstance(document.get("observations"), list):
        raise ValidationProblem('The body must be {"observations": [ ... ]}.')
    if set(document) - {"observations"}:
        raise ValidationProblem('The body may hold only "observations".')
    items: list[Any] = document.pop("observations")
    for index in range(len(items)):
        item, items[index] = items[index], None
        yield index + 1, item


_DELIMITER_NAMES = {",": "comma ','", ";": "semicolon ';'", "\t": "tab"}


def csv_delimiter(text: str) -> str:
    """The delimiter of a CSV: whichever of comma, semicolon and tab its first line holds most
    (a comma on a tie). Spreadsheets set to a locale whose decimal mark is a comma (Russian,
    among others) save CSV with semicolons; RR_STATS column names hold none of the three."""
    first_line = text[: text.find("\n")] if "\n" in text else text
    counts = {d: first_line.count(d) for d in _DELIMITER_NAMES}
    return max(counts, key=lambda d: (counts[d], d == ","))


def parse_csv(body: bytes) -> Iterator[tuple[int, Any]]:
    """Rows of a CSV with a header of RR_STATS column names, numbered by line. The delimiter
    (comma, semicolon or tab) is read from the header line; a UTF-8 byte order mark is dropped."""
    try:
        text_stream = io.StringIO(body.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ValidationProblem("The CSV is not UTF-8 text.") from None
    delimiter = csv_delimiter(text_stream.getvalue())
    reader = csv.reader(text_stream, delimiter=delimiter)
    header = [h.strip().upper() for h in next(reader, [])]
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if unknown or missing or len(set(header)) != len(header):
        raise ValidationProblem(
            "The CSV header must name RR_STATS columns once each"
            + (f"; unknown: {', '.join(unknown[:10])}" if unknown else "")
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + f" (read with the delimiter {_DELIMITER_NAMES[delimiter]}, the one its first"
            " line uses most; the delimiters understood are comma, semicolon and tab)."
        )
    width = len(header)
    for row in reader:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != width:
            yield reader.line_num, {"__width__": len(row)}
            continue
        yield (
            reader.line_num,
            {name: value for name, value in zip(header, row, strict=True) if value != ""},
        )


# ---------------------------------------------------------------- validation


def validate(rows: Iterable[tuple[int, Any]], tenant: str, problems: Problems) -> list[Row]:
    valid: list[Row] = []
    first_row: dict[Key, int] = {}
    for number, raw in rows:
        if isinstance(raw, RowProblem):
            problems.add("error", raw.code, raw.column, raw.message, number)
            continue
        if isinstance(raw, dict) and "__width__" in raw:
            problems.add(
                "error",
                "MALFORMED_ROW",
                None,
                "The row does not have one value per header column",
                number,
            )
            continue
        values = plain_observation(raw)
        if values is None:
            try:
                values = observation_values(ObservationIn.model_validate(raw))
            except ValidationError as exc:
                for error in exc.errors():
                    problems.add("error", *_describe(error), number)
                continue
        if tenant != values[0]:
            problems.add(
                "error",
                "FOREIGN_REF_AREA",
                "REF_AREA",
                f"REF_AREA must be your own state ({tenant})",
                number,
            )
            continue
        key: Key = values[:6]
        if key in first_row:
            problems.add(
                "error",
                "DUPLICATE_KEY",
                None,
                "The same observation (all six dimensions) appears more than once in the batch",
                number,
            )
            continue
        first_row[key] = number
        valid.append(Row(number, key, *values[6:]))
    return valid


def check_consistency(rows: Sequence[Row], problems: Problems) -> None:
    """Totals against their parts, within the batch: a part above its total is an error; complete
    parts that do not add up to their total are a warning."""
    by_key = {row.key: row for row in rows}
    for dimension, position in HIERARCHICAL.items():
        parts_of = PARTS[dimension]
        for total in (r for r in rows if r.key[position] == TOTAL):
            parts = [
                by_key[k]
                for code in parts_of
                if (k := (*total.key[:position], code, *total.key[position + 1 :])) in by_key
            ]
            for part in parts:
                if part.value > total.value:
                    problems.add(
                        "error",
                        "PART_EXCEEDS_TOTAL",
                        "OBS_VALUE",
                        f"A part is larger than its {dimension} total",
                        part.number,
                    )
            if len(parts) == len(parts_of) and sum(p.value for p in parts) != total.value:
                problems.add(
                    "warning",
                    "PARTS_DO_NOT_ADD_UP",
                    "OBS_VALUE",
                    f"All {dimension} parts are given but do not add up to their total",
                    total.number,
                )


# ---------------------------------------------------------------- import
