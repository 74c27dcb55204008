"""Statistics in: the template workbook agencies fill in, and the import of observations
(JSON, CSV or an XLSX sheet) with its report. Included by ``api/v1/statistics.py``, whose prefix
and tag these routes share."""

from __future__ import annotations

from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import APIRouter, Query, Request, Response

from recnet.api.deps import Require, SessionDep
from recnet.auth.principal import Principal
from recnet.auth.scopes import Scope
from recnet.errors import ProblemError, UnsupportedMediaType, ValidationProblem
from recnet.schemas.statistics_io import ImportReport, Strategy
from recnet.services import statistics
from recnet.services.statistics import (
    ImportRequest,
    template,
    workbook,
)

router = APIRouter()

IMPORT_PATH = "/v1/statistics/observations"


class ImportRefused(ProblemError):
    status, slug, title = 422, "import-refused", "Import refused"


@router.get(
    "/template.xlsx",
    response_class=Response,
    responses={
        200: {
            "description": "An XLSX workbook: the RR_STATS sheet to fill in, one sheet per "
            "codelist, drop-down lists on the coded columns.",
            "content": {workbook.MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def get_statistics_template() -> Response:
    """The statistics template workbook, to fill in and upload as it is."""
    return Response(
        template.template_bytes(),
        media_type=workbook.MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{template.FILE_NAME}"',
            "Cache-Control": "public, max-age=3600",
        },
    )


@router.post(
    "/observations",
    response_model=ImportReport,
    responses={401: {}, 403: {}, 413: {}, 415: {}, 422: {"description": "Import refused"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string"}},
                workbook.MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def import_observations(
    request: Request,
    principal: Annotated[Principal, Require(Scope.statistics_write)],
    session: SessionDep,
    strategy: Strategy = "create_and_update",
    atomic: bool = True,
    dry_run: bool = False,
    sheet: Annotated[
        str | None,
        Query(
            max_length=workbook.MAX_SHEET_NAME,
            description="XLSX only: the sheet to read, by its name or its number from 1 "
            "(default: the first).",
        ),
    ] = None,
) -> ImportReport:
    """Import observations (JSON, CSV or an XLSX sheet) for the caller's own state, with an
    import report."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("application/json", "text/csv", workbook.MEDIA_TYPE):
        raise UnsupportedMediaType(f"Send application/json, text/csv or {workbook.MEDIA_TYPE}.")
    if sheet is not None and media != workbook.MEDIA_TYPE:
        raise ValidationProblem("sheet= chooses a sheet of an XLSX workbook; this is not one.")
    body = await request.body()
    settings = request.app.state.settings
    import_request = ImportRequest(
        body,
        media == "text/csv",
        strategy,
        atomic,
        dry_run,
        xlsx=media == workbook.MEDIA_TYPE,
        sheet=sheet,
    )
    del body
    report = await anyio.to_thread.run_sync(
        statistics.run_import, session, principal, import_request, settings.min_cell
    )
    if report.status == "ERROR":
        raise ImportRefused(
            "The import was refused: nothing was written. The report lists every problem.",
            extra={"report": report.model_dump(mode="json")},
        )
    return report
