"""HTTP helpers shared by the routes: content negotiation, conditional requests (ETag, If-Match,
If-None-Match), links."""

from __future__ import annotations

import hashlib
import re

from fastapi import Request, Response
from pydantic import BaseModel

from recnet.schemas.vocabularies import Language

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
    already has it. ``sub_response`` carries headers set by dependencies (rate limits)."""
    body = model if isinstance(model, bytes) else model.model_dump_json().encode()
    tag = etag or '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    all_headers = {**dict(sub_response.headers), **(headers or {}), "ETag": tag}
    all_headers.pop("content-length", None)
    if status_code == 200 and _matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=all_headers)
    return Response(
        content=body, status_code=status_code, media_type=media_type, headers=all_headers
    )
