"""The upload desk at ``/upload``: a page where an agency's data officer sends files to recnet.

The officer signs in with the client id and secret their administrator gave them; the page's
script exchanges them at ``/v1/auth/token`` for an access token it keeps in a variable only (never
in storage or a cookie: closing or reloading the page signs out). Statistics (CSV, with commas or
semicolons, with or without a byte order mark, or an XLSX sheet) go first as a dry run, whose
report (the import's own: counts, and every problem by line or Excel row and column) is shown;
only then may the same file be sent for real. Practices and programmes come from a JSON file
(one record or an array): each item is checked and listed first, then sent by the API's record
routes (PUT by ``source_ref``, POST otherwise), each with its result.

The page is rendered here (Jinja2, autoescaped) in the reader's language (``?lang=``, then
Accept-Language); its one script and stylesheet are files of this origin, under a Content Security
Policy that allows nothing else (no inline script, no other origin), like the explorer's. The
script reaches the API only: everything the desk does, a program can do with the same routes.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import Response

from recnet.api.http import preferred_languages
from recnet.errors import ValidationProblem
from recnet.schemas.vocabularies import Language
from recnet.web.i18n import ENDONYMS, Words, interface_language
from recnet.web.record_pages import templates

PATH = "/upload"
ASSETS = "/upload/assets"
STATIC = files("recnet.web") / "static" / "upload"
MAX_LANG = 35

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_KNOWN = frozenset(lang.value for lang in Language)

# The words the script shows (the report, the results), handed to it with the page.
SCRIPT_WORDS = (
    "upload_signed_in",
    "upload_signed_out",
    "upload_sign_in_failed",
    "upload_checking",
    "upload_sending",
    "upload_status_OK",
    "upload_status_WARNING",
    "upload_status_ERROR",
    "upload_dry_run_note",
    "upload_done_note",
    "upload_refused_note",
    "upload_count_received",
    "upload_count_imported",
    "upload_count_updated",
    "upload_count_ignored",
    "upload_count_deleted",
    "upload_problems",
    "upload_no_problems",
    "upload_severity",
    "upload_where",
    "upload_column",
    "upload_message",
    "upload_line",
    "upload_row",
    "upload_item",
    "upload_more_rows",
    "upload_error",
    "upload_error_warning",
    "upload_pick_file",
    "upload_records_not_json",
    "upload_records_not_objects",
    "upload_records_duplicate_ref",
    "upload_records_limit",
    "upload_records_plan",
    "upload_records_put",
    "upload_records_post",
    "upload_records_result",
    "upload_records_summary",
    "upload_request_failed",
)


def _language(request: Request) -> str:
    lang = request.query_params.get("lang")
    if lang is not None and len(lang) > MAX_LANG:
        raise ValidationProblem(f"lang is a language tag of at most {MAX_LANG} characters.")
    asked = lang.strip().lower() if lang else None
    preferred = preferred_languages(request, asked if asked in _KNOWN else None)
    return interface_language(preferred, None)


async def upload_desk(request: Request) -> Response:
    """The desk's page, in the reader's language."""
    words = Words(_language(request))
    return templates.TemplateResponse(
        request,
        "upload.html",
        {
            "words": words,
            "lang": words.lang,
            "assets": ASSETS,
            "script_words": {key: words(key) for key in SCRIPT_WORDS},
            "languages": list(ENDONYMS.items()),
        },
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Content-Language": words.lang,
            "Vary": "Accept-Language",
            # The page holds no secret, but what it shows after sign-in must never be cached.
            "Cache-Control": "no-store",
        },
    )


def install_upload_desk(app: FastAPI) -> None:
    """Serve the upload desk at ``/upload`` and its script and stylesheet.

    A page, not an operation of the API: neither in the OpenAPI document nor in the API's route
    table; every call its script makes is an API route with its own rules.
    """
    app.mount(ASSETS, StaticFiles(directory=str(STATIC)), name="upload-assets")
    app.add_route(PATH, upload_desk, methods=["GET"], name="upload_desk", include_in_schema=False)
