"""Syndication encoders of published records: Atom 1.0 (RFC 4287) and JSON Feed 1.1.

Partner entities follow recnet's good practices and programmes with ordinary feed readers. These
encoders are pure: the caller picks the records, the language of each title and the page links,
and gets back the complete document as UTF-8 bytes (a feed page is small, so nothing is streamed).

- ``atom``: an Atom feed document, ``ATOM``. Paging follows RFC 5005 (``link rel="next"``).
- ``json_feed``: a JSON Feed 1.1 document, ``JSON_FEED``.

Each entry links to the record's page for people (HTML) where the caller gives one, and always to
the record in the API (JSON): in Atom as two alternate links told apart by their types, in JSON
Feed as the item's ``url`` and an attachment of type ``application/json``.

Text is published as plain text, never HTML, so readers show ``<``, ``&`` and quotes as they are.
XML 1.0 cannot carry every character a Python string can (most C0 control characters, lone
surrogates, U+FFFE and U+FFFF are not allowed even as character references), so the Atom encoder
drops those rather than write a document no reader accepts. JSON can carry control characters
(escaped), so the JSON Feed keeps them and drops only lone surrogates, which UTF-8 cannot encode.

Times must be timezone-aware; they are written in UTC as RFC 3339 with whole seconds and a ``Z``,
the form every reader parses (fractions of seconds are not all understood and carry no meaning
for a reader).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

ATOM: Final = "application/atom+xml; charset=utf-8"
JSON_FEED: Final = "application/feed+json; charset=utf-8"

ATOM_NS: Final = "http://www.w3.org/2005/Atom"
JSON_FEED_VERSION: Final = "https://jsonfeed.org/version/1.1"

# ElementTree writes this namespace with the reserved "xml" prefix without being told.
_XML_LANG: Final = "{http://www.w3.org/XML/1998/namespace}lang"

# Everything outside the XML 1.0 Char production (tab, LF and CR are the only controls allowed).
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class FeedEntry:
    """One record as a feed entry, already in the language chosen for the feed."""

    id: str  # stable, e.g. "urn:uuid:<record uuid>"
    title: str
    summary: str | None
    updated: datetime  # timezone-aware
    published: datetime  # timezone-aware: the record's created_at
    url: str  # absolute URL of the record in the API (JSON)
    language: str | None  # e.g. "en", "ru"
    author: str  # the owning member state's code, e.g. "UZB"
    categories: tuple[str, ...] = ()  # vocabulary codes: working group, approaches, ...
    page_url: str | None = None  # the record's page for people (HTML), where there is one


def _utc(moment: datetime) -> datetime:
    # A naive datetime is refused: guessing its zone would shift every date a reader shows.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: feed times must be timezone-aware")
    return moment.astimezone(UTC)


def rfc3339(moment: datetime) -> str:
    """``moment`` (timezone-aware) in UTC as RFC 3339, e.g. ``2024-05-01T09:30:00Z``."""
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _xml(text: str) -> str:
    return _NOT_XML_CHAR.sub("", text)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {name: _xml(value) for name, value in attrib.items()})
    if text is not None:
        element.text = _xml(text)
    return element


def atom(
    *,
    feed_id: str,
    title: str,
    self_url: str,
    alternate_url: str,
    updated: datetime,
    entries: Sequence[FeedEntry],
    next_url: str | None,
    language: str | None,
) -> bytes:
    """An Atom feed document of ``entries``, in their order.

    The feed's ``updated`` is ``updated``, or the latest entry's if that is later: RFC 4287 makes
    it the last significant change, and a feed older than its own entries looks stale to readers.
    Every entry has an author, so the feed needs none of its own (RFC 4287, 4.1.1).
    """
    # Unprefixed elements under a default namespace, as feeds are usually written; the xmlns
    # attribute is set by hand because ET.register_namespace would change process-wide state.
    root = ET.Element("feed", {"xmlns": ATOM_NS})
    if language:
        root.set(_XML_LANG, _xml(language))
    _sub(root, "id", feed_id)
    _sub(root, "title", title, type="text")
    _sub(root, "updated", rfc3339(max(_utc(t) for t in [updated, *(e.updated for e in entries)])))
    _sub(root, "link", rel="self", type="application/atom+xml", href=self_url)
    _sub(root, "link", rel="alternate", href=alternate_url)
    if next_url:
        _sub(root, "link", rel="next", type="application/atom+xml", href=next_url)
    for entry in entries:
        element = _sub(root, "entry")
        # Entries of a mixed-language page say their own language; repeating the feed's is harmless.
        if entry.language:
            element.set(_XML_LANG, _xml(entry.language))
        _sub(element, "id", entry.id)
        _sub(element, "title", entry.title, type="text")
        _sub(element, "updated", rfc3339(entry.updated))
        _sub(element, "published", rfc3339(entry.published))
        if entry.summary:
            _sub(element, "summary", entry.summary, type="text")
        _sub(_sub(element, "author"), "name", entry.author)
        # An entry without content needs an alternate link. The page for people comes first
        # (readers open the first one, and feedparser makes it the entry's link); the record in
        # the API stays beside it, with its own type (RFC 4287 allows one alternate per type).
        if entry.page_url:
            _sub(element, "link", rel="alternate", type="text/html", href=entry.page_url)
        _sub(element, "link", rel="alternate", type="application/json", href=entry.url)
        for code in entry.categories:
            _sub(element, "category", term=code)
    # typeshed types tostring() as Any whenever an encoding is given; with "utf-8" it is bytes.
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def _text(text: str) -> str:
    return _SURROGATE.sub("", text)


def json_feed(
    *,
    title: str,
    home_page_url: str,
    feed_url: str,
    description: str,
    entries: Sequence[FeedEntry],
    next_url: str | None,
    language: str | None,
) -> bytes:
    """A JSON Feed 1.1 document of ``entries``, in their order.

    Optional members with no value are left out rather than written as null, which the spec does
    not allow for its string members. Each item carries ``content_text`` (the summary, or else the
    title) because the spec requires ``content_html`` or ``content_text``.
    """
    feed: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": _text(title),
        "home_page_url": _text(home_page_url),
        "feed_url": _text(feed_url),
        "description": _text(description),
    }
    if language:
        feed["language"] = _text(language)
    if next_url:
        feed["next_url"] = _text(next_url)
    feed["items"] = [_item(entry) for entry in entries]
    return json.dumps(feed, ensure_ascii=False).encode("utf-8")


def _item(entry: FeedEntry) -> dict[str, Any]:
    # ``url`` is the item's permalink, the page a person opens where there is one; the record
    # in the API is then kept as an attachment with its media type.
    item: dict[str, Any] = {
        "id": _text(entry.id),
        "url": _text(entry.page_url or entry.url),
        "title": _text(entry.title),
    }
    if entry.page_url:
        item["attachments"] = [{"url": _text(entry.url), "mime_type": "application/json"}]
    if entry.summary:
        item["summary"] = _text(entry.summary)
    item["content_text"] = _text(entry.summary or entry.title)
    item["date_published"] = rfc3339(entry.published)
    item["date_modified"] = rfc3339(entry.updated)
    item["authors"] = [{"name": _text(entry.author)}]
    item["tags"] = [_text(code) for code in entry.categories]
    if entry.language:
        item["language"] = _text(entry.language)
    return item
