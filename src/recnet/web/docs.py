"""The API documentation pages, which load nothing from outside the service: Swagger UI and ReDoc.

Everything the pages load is served from here: Swagger UI and ReDoc from the packaged bundles
(``fastapi_offline``), the page scripts and images from ``web/static/docs``. What in those bundles
would reach out to the internet is turned off: the logo ReDoc's side menu loads from its CDN (the
bundle is served with that address pointing at a packaged image instead) and Swagger UI's online
validator (``validatorUrl: null`` in ``swagger-init.js``). A Content Security Policy holds the
pages to their own origin, so a future bundle that tried again would be refused by the browser as
well as caught by the browser test (``tests/e2e/test_docs_browser.py``).
"""

from __future__ import annotations

import hashlib
from html import escape
from importlib.resources import files

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

ASSETS = "/docs/assets"
PAGE_ASSETS = "/docs/page"
STATIC = files("recnet.web") / "static" / "docs"
REDOC_BUNDLE = f"{ASSETS}/redoc.standalone.js"
REDOC_LOGO_CDN = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
REDOC_LOGO_HERE = f"{PAGE_ASSETS}/redoc-mark.svg".encode()

# Scripts only from this origin and none inline; styles may be inline (ReDoc writes its own), which
# runs no code. Requests (the document, the token endpoint, "Try it out") go to this origin only.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

SWAGGER_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" href="{assets}/favicon.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{page_assets}/swagger-init.js"></script>
</body>
</html>
"""

REDOC_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="{assets}/favicon.png">
<style>body {{ margin: 0; padding: 0; }}</style>
</head>
<body>
<noscript>The API reference needs JavaScript; the OpenAPI document is at {openapi_url}.</noscript>
<redoc spec-url="{openapi_url}"></redoc>
<script src="{redoc_bundle}"></script>
</body>
</html>
"""


class _RedocBundle:
    """The packaged ReDoc bundle with its CDN logo pointed here; read on first use, then kept."""

    def __init__(self) -> None:
        self.body: bytes | None = None
        self.etag = ""

    def load(self) -> bytes:
        if self.body is None:
            original = (files("fastapi_offline") / "static" / "redoc.standalone.js").read_bytes()
            self.body = original.replace(REDOC_LOGO_CDN, REDOC_LOGO_HERE)
            self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'
        return self.body


def install_docs(app: FastAPI) -> None:
    openapi_url = escape(app.openapi_url or "/v1/openapi.json")
    swagger_page = SWAGGER_PAGE.format(
        title=escape(f"{app.title} — API"),
        assets=ASSETS,
        page_assets=PAGE_ASSETS,
        openapi_url=openapi_url,
    )
    redoc_page = REDOC_PAGE.format(
        title=escape(f"{app.title} — API reference"),
        assets=ASSETS,
        redoc_bundle=REDOC_BUNDLE,
        openapi_url=openapi_url,
    )
    bundle = _RedocBundle()

    async def swagger_ui(request: Request) -> HTMLResponse:
        return HTMLResponse(swagger_page, headers=PAGE_HEADERS)

    async def redoc(request: Request) -> HTMLResponse:
        return HTMLResponse(redoc_page, headers=PAGE_HEADERS)

    # Sync, so the first read of the bundle happens on a worker thread, not the event loop.
    def redoc_bundle(request: Request) -> Response:
        body = bundle.load()
        headers = {"ETag": bundle.etag, "Cache-Control": "public, max-age=3600"}
        if request.headers.get("if-none-match") == bundle.etag:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="text/javascript", headers=headers)

    app.add_route("/docs", swagger_ui, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)
    # Before the assets mount, which would otherwise answer with the unpatched file.
    app.add_route(REDOC_BUNDLE, redoc_bundle, include_in_schema=False)
    app.mount(PAGE_ASSETS, StaticFiles(directory=str(STATIC)), name="docs-page-assets")
    app.mount(
        ASSETS,
        StaticFiles(directory=str(files("fastapi_offline") / "static")),
        name="docs-assets",
    )
