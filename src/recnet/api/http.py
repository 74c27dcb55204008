"""HTTP helpers shared by the routes: content negotiation, conditional requests (ETag, If-Match,
If-None-Match), links."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urlencode

from fastapi import Request, Response
from pydantic import BaseModel

from recnet.errors import ProblemError
from recnet.schemas.vocabularies import Language


class NotAcceptable(ProblemError):
    """The caller accepts no media type the route can answer in."""

    status, slug, title = 406, "not-acceptable", "Not acceptable"


_LANGUAGE_RANGE = re.compile(
    r"^\s*([A-Za-z]{1,8})(?:-[A-Za-z0-9]{1,8})*\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$"
)
_CODES = {lang.value for lang in Language}
# The ETag of a version of a record (``version_etag``), strong or weak, as If-Match names it.
_ETAG_VERSION = re.compile(r'^(?:W/)?"v(\d+)(?:\.[^"]*)?"$')


def public_base(request: Request) -> str:
    """What links start with: the configured public URL (RECNET_PUBLIC_URL), or nothing (links
    relative to this server's root). Never the request's Host header, which the caller chooses:
    a link built from it would point a reader (or a cache) wherever the caller liked."""
    url: str | None = request.app.state.settings.public_url
    return url or ""


def next_link(request: Request, cursor: str, param: str = "cursor") -> str:
    """The ``Link`` header value (RFC 8288) naming the next page: this request's path and query
    with ``param`` set to ``cursor``. Absolute when RECNET_PUBLIC_URL is set; otherwise a
    reference from the root, which a client resolves against the URL it asked (never built
    from the Host header, see ``public_base``)."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != param]
    query.append((param, cursor))
    target = f"{public_base(request)}{request.url.path}?{urlencode(query)}"
    return f'<{target}>; rel="next"'


def http_date(moment: datetime) -> str:
    """A moment as an HTTP date (Last-Modified, RFC 9110), to the second."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


# Answers that depend on the caller and on data that may change at any time: a cache may keep
# them but must ask again (cheaply: the ETag gets a 304) before reusing one.
REVALIDATE = "no-cache"
# Public reference data, the same for every caller, that changes seldom.
PUBLIC_REFERENCE = "public, max-age=300"


def fresh(
    if_none_match: str | None, if_modified_since: str | None, etag: str, last_modified: str | None
) -> bool:
    """Whether a caller sending these conditions has this version already: If-None-Match first
    (RFC 9110 ignores If-Modified-Since when it is present), else If-Modified-Since against
    ``last_modified``."""
    if if_none_match is not None:
        return _matches(if_none_match[:2000], etag)
    if if_modified_since and last_modified:
        try:
            since = parsedate_to_datetime(if_modified_since[:100])
            return since >= parsedate_to_datetime(last_modified)
        except (TypeError, ValueError):
            return False
    return False


def not_modified(request: Request, etag: str, last_modified: str | None = None) -> bool:
    """Whether the caller of ``request`` has this version already (see ``fresh``)."""
    headers = request.headers
    return fresh(
        headers.get("if-none-match"), headers.get("if-modified-since"), etag, last_modified
    )


def download_headers(etag: str, last_modified: str, filename: str) -> dict[str, str]:
    """The headers of an export: its validators, the cache rule, and the file name a browser
    or ``curl -OJ`` saves it under."""
    return {
        "ETag": etag,
        "Last-Modified": last_modified,
        "Cache-Control": REVALIDATE,
        "Content-Disposition": f'attachment; filename="{filename}"',
    }


def preferred_languages(request: Request, lang: str | None = None) -> list[str]:
    """Languages the caller prefers, best first: ``lang`` then Accept-Language (RFC 9110)."""
    ranked: list[tuple[float, int, str]] = []
    header = request.headers.get("accept-language", "")[:500]
    for position, part in enumerate(header.split(",")[:20]):
        match = _LANGUAGE_RANGE.match(part)
        if not match:
            continue
        try:
            quality = float(match.group(2)) if match.group(2) else 1.0
        except ValueError:
            continue
        code = match.group(1).lower()
        if code in _CODES and quality > 0:
            ranked.append((-quality, position, code))
    found = [code for _, _, code in sorted(ranked)]
    return ([lang] if lang else []) + found


def version_etag(version: int, lang: str | None) -> str:
    """The ETag of a version of a record, in the language it is answered in."""
    return f'"v{version}.{lang or "-"}"'


def if_match_versions(if_match: str) -> frozenset[int] | None:
    """The versions an If-Match header names by their ETags (``version_etag``); None for ``*``,
    which takes whichever is current. A tag of another form names no version."""
    tags = [t.strip() for t in if_match.split(",")]
    if "*" in tags:
        return None
    return frozenset(int(m.group(1)) for t in tags if (m := _ETAG_VERSION.match(t)))


def _matches(if_none_match: str | None, tag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in candidates or tag.removeprefix("W/") in candidates


def conditional(
    request: Request,
    sub_response: Response,
    model: BaseModel | bytes,
    *,
    etag: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    media_type: str = "application/json",
) -> Response:
    """Answer ``model`` (as JSON, or bytes already encoded) with an ETag, or 304 when the caller
    already has it (If-None-Match, or If-Modified-Since when ``headers`` give Last-Modified).
    ``sub_response`` carries headers set by dependencies (rate limits)."""
    body = model if isinstance(model, bytes) else model.model_dump_json().encode()
    tag = etag or '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    all_headers = {**dict(sub_response.headers), **(headers or {}), "ETag": tag}
    all_headers.pop("content-length", None)
    if status_code == 200 and not_modified(request, tag, all_headers.get("Last-Modified")):
        return Response(status_code=304, headers=all_headers)
    return Response(
        content=body, status_code=status_code, media_type=media_type, headers=all_headers
    )
