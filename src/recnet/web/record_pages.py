"""A page for every practice and programme: ``GET /practices/{id}`` and ``GET /programmes/{id}``.

Server-rendered HTML of the record as the caller may see it (anonymous readers, the usual case,
see CLEAR published records; a bearer token shows what it allows), read through the same service
and visibility rule as the API. Everything else (a record the reader may not see, one that does
not exist, an id that is not one) gets the same 404 page, so a page never tells whether a record
exists. The language follows ``?lang=``, then the ``recnet_lang`` cookie (the reader's last choice,
which a page reached by ``?lang=`` sets), then Accept-Language.

Templates (``web/templates/``) are Jinja2 with autoescaping, so an agency's text is always text;
the pages carry no script at all, and their one stylesheet comes from this origin.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from importlib.resources import files

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from recnet.api.deps import count_request, principal_of
from recnet.api.http import preferred_languages, public_base
from recnet.auth.principal import Principal
from recnet.db import Database, set_tenant
from recnet.errors import NotFound, ValidationProblem
from recnet.schemas.vocabularies import Language
from recnet.services import record_reads
from recnet.services.practices import PRACTICES
from recnet.services.programmes import PROGRAMMES
from recnet.services.records import Kind
from recnet.web import record_view
from recnet.web.i18n import (
    LANGUAGE_COOKIE,
    LANGUAGE_COOKIE_MAX_AGE,
    Words,
    interface_language,
    remembered,
)

ASSETS = "/pages/assets"
STATIC = files("recnet.web") / "static" / "pages"

# Stricter than the explorer's: the pages run no script and fetch nothing after loading.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_KNOWN = frozenset(lang.value for lang in Language)
MAX_LANG = 35  # the longest language tag worth reading (RFC 5646 suggests 35)

templates = Jinja2Templates(
    env=Environment(
        loader=PackageLoader("recnet.web", "templates"),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
)


def _headers(lang: str, counted: Response) -> dict[str, str]:
    return {
        **{k: v for k, v in counted.headers.items() if k.lower().startswith("ratelimit")},
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Content-Language": lang,
        # What a reader sees depends on its languages (asked or remembered) and on its token.
        "Vary": "Accept-Language, Cookie, Authorization",
        "Cache-Control": "no-cache",
    }


def _asked(request: Request) -> str | None:
    """The language ``?lang=`` chooses, if it is one recnet knows."""
    lang = request.query_params.get("lang")
    if lang is not None and len(lang) > MAX_LANG:
        raise ValidationProblem(f"lang is a language tag of at most {MAX_LANG} characters.")
    asked = lang.strip().lower() if lang else None
    return asked if asked in _KNOWN else None


def _preferred(request: Request) -> list[str]:
    chosen = _asked(request) or remembered(request.cookies.get(LANGUAGE_COOKIE))
    return preferred_languages(request, chosen)


def _remember(request: Request, response: Response) -> Response:
    """A page reached by ``?lang=`` (the language switch) remembers the choice for the next."""
    asked = _asked(request)
    if asked is not None:
        response.set_cookie(
            LANGUAGE_COOKIE,
            asked,
            max_age=LANGUAGE_COOKIE_MAX_AGE,
            path="/",
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response


def _read(
    kind: Kind,
    principal: Principal,
    record_id: str,
    preferred: list[str],
    base: str,
) -> Callable[[Session], record_view.Page | None]:
    """The page of the record as ``principal`` may see it, or None for the one 404 page."""

    def read(session: Session) -> record_view.Page | None:
        # Row-level security on PostgreSQL sees the caller's tenant, as for the API's reads.
        set_tenant(session, principal.tenant)
        try:
            wanted = uuid.UUID(record_id)
            record = record_reads.get_visible(session, principal, kind, wanted)
            versions = record_reads.versions(session, principal, kind, wanted)
        except (ValueError, NotFound):
            return None
        text_lang = record_reads.choose_language(record, preferred)
        return record_view.build(
            kind=kind.name,
            plural=kind.plural,
            record_id=str(record.id),
            tenant=record.tenant,
            status=record.status,
            tlp=record.tlp,
            version=record.version,
            created_at=record.created_at,
            updated_at=record.updated_at,
            data=record.data,
            versions=versions,
            preferred=preferred,
            text_lang=text_lang,
            words=Words(interface_language(preferred, text_lang)),
            base=base,
        )

    return read


def _endpoint(kind: Kind) -> Callable[[Request], Awaitable[Response]]:
    async def record_page(request: Request) -> Response:
        preferred = _preferred(request)
        # The API's door: a bad token is refused (401), never taken as anonymous; the request
        # counts against the caller's rate limit.
        principal = await principal_of(request)
        counted = Response()
        count_request(request, counted, principal)
        database: Database = request.app.state.database
        record_id = str(request.path_params["record_id"])
        read = _read(kind, principal, record_id, preferred, public_base(request))
        # Read in a unit of work of its own; the page is rendered after it is given back.
        page = await database.run(read, write=False)
        if page is None:
            words = Words(interface_language(preferred, None))
            return templates.TemplateResponse(
                request,
                "not_found.html",
                {"words": words, "lang": words.lang, "assets": ASSETS},
                status_code=404,
                headers=_headers(words.lang, counted),
            )
        return _remember(
            request,
            templates.TemplateResponse(
                request,
                f"{kind.name}.html",
                {"page": page, "words": page.words, "lang": page.lang, "assets": ASSETS},
                headers=_headers(page.lang, counted),
            ),
        )

    return record_page


def install_record_pages(app: FastAPI) -> None:
    """Serve ``/practices/{id}``, ``/programmes/{id}`` and their stylesheet.

    Plain routes, like the explorer's and the documentation's: pages, not operations of the API,
    so they are neither in the OpenAPI document nor in the API's route table
    (``auth/policy.py``); who sees which record is the records' own rule.
    """
    app.mount(ASSETS, StaticFiles(directory=str(STATIC)), name="page-assets")
    for kind in (PRACTICES, PROGRAMMES):
        app.add_route(
            f"/{kind.plural}/{{record_id}}",
            _endpoint(kind),
            methods=["GET"],
            name=f"{kind.name}_page",
            include_in_schema=False,
        )
