"""The public explorer page at ``/``: charts (with their figures as CSV), and the good practices
and programmes, a page at a time, each leading to its record page; all from the public API.

The page is static HTML, one script and one stylesheet shipped inside the package (so it works
offline and in air-gapped deployments, like ``/docs``). The script reads only the public API,
anonymously, so it shows exactly what any reader may see: disclosure-controlled figures and CLEAR
published records.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse

ASSETS = "/explorer/assets"
STATIC = files("recnet.web") / "static" / "explorer"

# Everything comes from this origin: no CDN, fonts or images from elsewhere, and no inline
# script, so text from the API can never run as code even if escaping were missed somewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def install_explorer(app: FastAPI) -> None:
    """Serve the explorer page at ``/`` and its assets under ``/explorer/assets``."""
    app.mount(ASSETS, StaticFiles(directory=str(STATIC)), name="explorer-assets")
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
