"""Content negotiation for the SDMX REST routes (SDMX RESTful specification v1.5.0, 4.6).

The caller's ``Accept`` ranges are tried best first (by ``q``, then by order); the first offer a
range matches wins. No ``Accept`` and ``*/*`` give the default offer; the generic XML types
(application/xml, text/xml) the offer marked for them (SDMX-ML structure, generic data). A
range that names a ``version`` matches only an offer of that version. Nothing matching is 406:
never another format with 200.
"""

from __future__ import annotations

from dataclasses import dataclass

from recnet.api.http import NotAcceptable

MAX_ACCEPT = 2000
MAX_RANGES = 30

__all__ = ["NotAcceptable", "Offer", "negotiate"]


@dataclass(frozen=True)
class Offer:
    """A format a route can answer in: its media type (as sent, with its parameters), the SDMX
    versions (``version=`` values a
    caller may ask for), and whether the generic XML types (application/xml) stand for it."""

    key: str
    media_type: str
    versions: frozenset[str]
    generic_xml: bool = False


def _ranges(accept: str) -> list[tuple[str, dict[str, str]]]:
    parsed: list[tuple[float, int, str, dict[str, str]]] = []
    for position, part in enumerate(accept[:MAX_ACCEPT].split(",")[:MAX_RANGES]):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if not media or "/" not in media:
            continue
        params: dict[str, str] = {}
        for piece in pieces[1:]:
            name, _, value = piece.partition("=")
            params[name.strip().lower()] = value.strip().strip('"')
        try:
            quality = float(params.pop("q", "1"))
        except ValueError:
            quality = 0.0
        if quality > 0:
            parsed.append((-quality, position, media, params))
    return [(media, params) for _, _, media, params in sorted(parsed)]


def _matches(media: str, params: dict[str, str], offer: Offer) -> bool:
    if media in ("*/*", "application/*"):
        return True
    if media in ("application/xml", "text/xml"):
        return offer.generic_xml
    if media != offer.media_type.split(";")[0]:
        return False
    version = params.get("version")
    return version is None or version in offer.versions


def negotiate(accept: str | None, offers: list[Offer], default: Offer) -> Offer:
    """The offer to answer with, or ``NotAcceptable`` naming what this route serves."""
    if not accept or not accept.strip():
        return default
    for media, params in _ranges(accept):
        if media in ("*/*", "application/*"):
            return default
        for offer in offers:
            if _matches(media, params, offer):
                return offer
    served = ", ".join(o.media_type for o in offers)
    raise NotAcceptable(f"This resource is served as: {served}.")
