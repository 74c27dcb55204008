"""The statistics template workbook (GET /v1/statistics/template.xlsx) and XLSX uploads."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from recnet.auth.principal import Role
from recnet.db import Database
from recnet.schemas.statistics import CODELISTS
from recnet.schemas.statistics_io import COLUMNS
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
