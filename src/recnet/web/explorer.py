"""The public explorer page at ``/``: charts (with their figures as CSV), and the good practices
and programmes, a page at a time, each leading to its record page; all from the public API.

The page is static HTML, one script and one stylesheet shipped inside the package (so it works
offline and in air-gapped deployments, like ``/docs``). Its words are the ``explorer`` message
catalogues (``recnet/messages/explorer/<lang>.json``), served as static JSON under
``/explorer/messages`` for the script to fetch from this origin; the language is the reader's last
choice (the ``recnet_lang`` cookie the record pages share, or localStorage), else the browser's.
The script reads only the public API, anonymously, so it shows exactly what any reader may see:
disclosure-controlled figures and CLEAR published records.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse

from recnet.schemas.catalogues import directory

ASSETS = "/explorer/assets"
STATIC = files("recnet.web") / "static" / "explorer"
MESSAGES = "/explorer/messages"

# Everything comes from this origin: no CDN, fonts or images from elsewhere, and no inline
# script, so text from the API can never run as code even if escaping were missed somewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def install_explorer(app: FastAPI) -> None:
    """Serve the explorer page at ``/`` and its assets under ``/explorer/assets``."""
    app.mount(ASSETS, StaticFiles(directory=str(STATIC)), name="explorer-assets")
    app.mount(MESSAGES, StaticFiles(directory=str(directory("explorer"))), name="explorer-messages")
    # Read once: the page is a packaged file that does not change while the process runs.
    page = (STATIC / "index.html").read_text(encoding="utf-8")

    async def explorer(request: Request) -> HTMLResponse:
        return HTMLResponse(
            page,
            headers={
                "Content-Security-Policy": CONTENT_SECURITY_POLICY,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            },
        )

    app.add_route("/", explorer, methods=["GET"], include_in_schema=False)
