"""The statistics template workbook (GET /v1/statistics/template.xlsx) and XLSX uploads."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook

from recnet.app import create_app
from recnet.auth.principal import Role
from recnet.db import Database
from recnet.schemas.statistics import CODELISTS
from recnet.schemas.statistics_io import COLUMNS
from recnet.services.statistics import workbook as workbook_module
from tests.api.statistics.test_statistics import stored
from tests.conftest import make_settings
from tests.factories import bearer, client_for_role, get_token

TEMPLATE = "/v1/statistics/template.xlsx"
URL = "/v1/statistics/observations"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def agency(client: TestClient, database: Database) -> dict[str, str]:
    return bearer(get_token(client, client_for_role(database, Role.member_state, "UZB")))


def template(client: TestClient) -> Any:
    response = client.get(TEMPLATE)
    assert response.status_code == 200, response.text
    return load_workbook(io.BytesIO(response.content))


def saved(workbook: Any) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client: TestClient, agency: dict[str, str], body: bytes, **params: Any) -> Any:
    return client.post(URL, content=body, params=params, headers={**agency, "Content-Type": XLSX})


# ------------------------------------------------------------------ the template


def test_anyone_downloads_the_template_as_a_named_xlsx_file(client: TestClient) -> None:
    response = client.get(TEMPLATE)
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX
    assert response.headers["content-disposition"] == (
        'attachment; filename="recnet-statistics-template.xlsx"'
    )
    assert response.content[:2] == b"PK"


def test_the_template_has_the_import_columns_and_a_sheet_per_codelist(
    client: TestClient,
) -> None:
    workbook = template(client)
    data = workbook.worksheets[0]
    assert data.title == "RR_STATS"
    assert tuple(cell.value for cell in data[1]) == COLUMNS
    assert data.max_row == 1, "nothing to delete before filling it in"
    coded = [name for name in COLUMNS if name in CODELISTS]
    for name in coded:
        sheet = workbook[CODELISTS[name].id]
        assert [c.value for c in sheet[1]] == ["CODE", "LABEL_EN", "LABEL_RU"]
        rows = list(sheet.iter_rows(min_row=2, values_only=True))
        labels = {c.id: (c.en, c.ru) for c in CODELISTS[name].codes}
        assert rows
        assert all(labels[code] == (en, ru) for code, en, ru in rows)
    # Only the codes an import accepts: the regional total is computed, never reported.
    states = [row[0] for row in workbook["CL_REF_AREA"].iter_rows(min_row=2, values_only=True)]
    assert states == ["KAZ", "KGZ", "TJK", "TKM", "UZB"]


def test_the_coded_columns_have_drop_down_lists_from_the_codelist_sheets(
    client: TestClient,
) -> None:
    workbook = template(client)
    data = workbook.worksheets[0]
    lists = {
        str(v.sqref): v.formula1 for v in data.data_validations.dataValidation if v.type == "list"
    }
    for name in (n for n in COLUMNS if n in CODELISTS):
        letter = "ABCDEFGHIJK"[COLUMNS.index(name)]
        codelist = CODELISTS[name].id
        last = workbook[codelist].max_row
        assert lists[f"{letter}2:{letter}1048576"] == f"'{codelist}'!$A$2:$A${last}"
    whole = [v for v in data.data_validations.dataValidation if v.type == "whole"]
    assert [str(v.sqref) for v in whole] == ["G2:G1048576"]
    assert (whole[0].formula1, whole[0].formula2) == ("0", "2000000000")


# ------------------------------------------------------------------ XLSX uploads


def row(**values: Any) -> list[Any]:
    base: dict[str, Any] = {
        "REF_AREA": "UZB",
        "INDICATOR": "RETURNED",
        "SEX": "F",
        "AGE": "Y0T4",
        "COUNTERPART_AREA": "SYR",
        "TIME_PERIOD": "2019-Q2",
        "OBS_VALUE": 42,
        **values,
    }
    return [base.get(name) for name in COLUMNS]


def sheet_of(*rows: list[Any], title: str = "Data", before: int = 0) -> bytes:
    """A workbook whose sheet ``title`` holds the RR_STATS header and ``rows``, after
    ``before`` other sheets."""
    workbook = Workbook()
    first = workbook.active
    assert first is not None
    sheets = [first, *(workbook.create_sheet() for _ in range(before))]
    for index, other in enumerate(sheets[:-1]):
        other.title = f"Other {index + 1}"
        other.append(["not", "statistics"])
    data = sheets[-1]
    data.title = title
    data.append(list(COLUMNS))
    for values in rows:
        data.append(values)
    return saved(workbook)


def test_the_template_filled_in_goes_back_as_it_is_dry_run_then_real(
    client: TestClient, agency: dict[str, str], database: Database
) -> None:
    workbook = template(client)
    data = workbook["RR_STATS"]
    data.append(row(OBS_VALUE=42))
    data.append(row(SEX="M", OBS_VALUE=7, OBS_STATUS="E", SOURCE="Ministry of Labour"))
    body = saved(workbook)

    dry = upload(client, agency, body, dry_run="true")
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert report["status"] == "OK"
    assert report["dry_run"] is True
    assert report["counts"]["received"] == report["counts"]["imported"] == 2
    assert stored(database) == {}

    real = upload(client, agency, body)
    assert real.status_code == 200, real.text
    assert real.json()["counts"]["imported"] == 2
    assert real.json()["event"] is not None
    assert stored(database) == {
        ("UZB", "RETURNED", "F", "Y0T4", "SYR", "2019-Q2"): 42,
        ("UZB", "RETURNED", "M", "Y0T4", "SYR", "2019-Q2"): 7,
    }


def test_problems_are_reported_by_excel_row_and_column(
    client: TestClient, agency: dict[str, str], database: Database
) -> None:
    body = sheet_of(
        row(),  # row 2: fine
        row(SEX="X", OBS_VALUE=5),  # row 3: not a code
        row(SEX="M", OBS_VALUE=4.5),  # row 4: not a whole number
        [None] * len(COLUMNS),  # row 5: empty, skipped
        row(SEX="M", TIME_PERIOD="2019-Q5"),  # row 6: not a period
        [*row(SEX="M", AGE="Y5T11"), None, "stray"],  # row 7: a value beyond the header
    )
    response = upload(client, agency, body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    report = response.json()["report"]
    assert report["numbering"] == "line"
    found = {(c["code"], c["column"]): (c["rows"], c["message"]) for c in report["conflicts"]}
    assert found[("INVALID_CODE", "SEX")][0] == [3]
    assert "sheet 'Data', column C" in found[("INVALID_CODE", "SEX")][1]
    assert found[("INVALID_VALUE", "OBS_VALUE")][0] == [4]
    assert "column G" in found[("INVALID_VALUE", "OBS_VALUE")][1]
    assert found[("INVALID_PERIOD", "TIME_PERIOD")][0] == [6]
    assert "column F" in found[("INVALID_PERIOD", "TIME_PERIOD")][1]
    assert found[("UNNAMED_COLUMN", None)][0] == [7]
    assert "column M" in found[("UNNAMED_COLUMN", None)][1]
    assert report["counts"]["received"] == 5
    assert stored(database) == {}


def test_numbers_and_dates_in_cells_read_as_a_csv_would_hold_them(
    client: TestClient, agency: dict[str, str], database: Database
) -> None:
    body = sheet_of(
        row(TIME_PERIOD=2019, OBS_VALUE=12.0),  # a year typed as a number, a float count
        row(SEX="M", TIME_PERIOD=datetime(2019, 3, 1)),  # Excel turned 2019-03 into a date
    )
    response = upload(client, agency, body)
    assert response.status_code == 200, response.text
    assert stored(database) == {
        ("UZB", "RETURNED", "F", "Y0T4", "SYR", "2019"): 12,
        ("UZB", "RETURNED", "M", "Y0T4", "SYR", "2019-03"): 42,
    }


def test_any_sheet_by_name_or_number(
    client: TestClient, agency: dict[str, str], database: Database
) -> None:
    body = sheet_of(row(), title="Figures 2019", before=2)
    first = upload(client, agency, body, dry_run="true")
    assert first.status_code == 422
    assert "Row 1 of the sheet 'Other 1'" in first.json()["detail"]
    for chosen in ("Figures 2019", "3"):
        response = upload(client, agency, body, sheet=chosen, dry_run="true")
        assert response.status_code == 200, response.text
        assert response.json()["counts"]["imported"] == 1
    missing = upload(client, agency, body, sheet="Sheet9")
    assert missing.status_code == 422
    assert "'Other 1', 'Other 2', 'Figures 2019'" in missing.json()["detail"]
    csv_body = ",".join(COLUMNS[:7]) + "\nUZB,RETURNED,F,Y0T4,SYR,2019,1\n"
    on_csv = client.post(
        URL,
        content=csv_body,
        params={"sheet": "1"},
        headers={**agency, "Content-Type": "text/csv"},
    )
    assert on_csv.status_code == 422
    assert stored(database) == {}


def test_a_file_that_is_not_a_workbook_is_refused_clearly(
    client: TestClient, agency: dict[str, str]
) -> None:
    for body in (b"REF_AREA,INDICATOR\n", b"PK\x03\x04 broken", b"\xd0\xcf\x11\xe0 an old .xls"):
        response = upload(client, agency, body)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"
        assert "XLSX" in response.json()["detail"]


def test_a_zip_bomb_is_refused_before_it_is_unpacked(
    client: TestClient, agency: dict[str, str], database: Database, monkeypatch: Any
) -> None:
    # The bound is lowered so the test need not build half a gigabyte; the check is the same.
    monkeypatch.setattr(workbook_module, "MAX_UNCOMPRESSED_BYTES", 4 * 1_048_576)
    buffer = io.BytesIO(sheet_of(row()))
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\0" * 8 * 1_048_576)
    body = buffer.getvalue()
    assert len(body) < 100_000
    response = upload(client, agency, body)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert "once unpacked" in response.json()["detail"]
    assert stored(database) == {}


def test_a_shared_strings_bomb_is_refused_before_it_is_read(
    client: TestClient, agency: dict[str, str], database: Database
) -> None:
    """The red team's bomb: a small upload whose shared strings, read whole by openpyxl before
    any row, unpack to millions of entries (32 MiB cost 180 MiB of memory and 13 s of CPU)."""
    source = zipfile.ZipFile(io.BytesIO(sheet_of(row())))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in source.infolist():
            if part.filename != workbook_module.SHARED_STRINGS:
                archive.writestr(part, source.read(part))
        entries = workbook_module.MAX_SHARED_STRINGS_BYTES // 16 + 1
        strings = (
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            + "<si><t>a</t></si>" * entries
            + "</sst>"
        )
        archive.writestr(workbook_module.SHARED_STRINGS, strings)
    body = buffer.getvalue()
    assert len(body) < 200_000
    started = time.monotonic()
    response = upload(client, agency, body)
    assert response.status_code == 413, response.text
    assert time.monotonic() - started < 5, "refused before it is read"
    assert workbook_module.SHARED_STRINGS in response.json()["detail"]
    assert stored(database) == {}


def test_xml_entity_expansion_is_refused_cleanly(
    client: TestClient, agency: dict[str, str], database: Database
) -> None:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    source = zipfile.ZipFile(io.BytesIO(sheet_of(row())))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in source.infolist():
            data = source.read(part)
            if part.filename == "xl/worksheets/sheet1.xml":
                # A billion "lol"s in the first cell of row 2, once the entities are expanded.
                text = data.decode().replace("<t>UZB</t>", "<t>&lol9;</t>", 1)
                assert "&lol9;" in text
                data = f"<!DOCTYPE worksheet [{entities}]>{text}".encode()
            archive.writestr(part, data)
    response = upload(client, agency, buffer.getvalue())
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert stored(database) == {}


def test_rows_and_cells_are_bounded(
    client: TestClient, agency: dict[str, str], database: Database, monkeypatch: Any
) -> None:
    monkeypatch.setattr(workbook_module, "MAX_ROWS", 3)
    body = sheet_of(*(row(OBS_VALUE=v, TIME_PERIOD=str(2010 + v)) for v in range(4)))
    response = upload(client, agency, body)
    assert response.status_code == 413
    assert "more than 3 rows" in response.json()["detail"]
    monkeypatch.setattr(workbook_module, "MAX_ROWS", 100)
    monkeypatch.setattr(workbook_module, "MAX_CELLS", 30)
    response = upload(client, agency, body)
    assert response.status_code == 413
    assert "more than 30 cells" in response.json()["detail"]
    assert stored(database) == {}


def test_an_upload_above_the_body_limit_is_refused(database: Database) -> None:
    settings = make_settings(database.settings.database_url, max_import_bytes=2048)
    with TestClient(create_app(settings, database), raise_server_exceptions=False) as small:
        headers = bearer(get_token(small, client_for_role(database, Role.member_state, "UZB")))
        body = sheet_of(*(row(OBS_VALUE=v, TIME_PERIOD=str(1900 + v)) for v in range(100)))
        assert len(body) > 2048
        response = upload(small, headers, body)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
