"""The syndication encoders (recnet.formats.feeds), read back by a strict XML parser, by a real feed
reader (feedparser) and against the JSON Feed 1.1 spec's required members.

feedparser 6.0.x (the latest release at the time of writing) reads Atom but not JSON Feed: its JSON
parser exists only on the development branch. The test reading the JSON Feed with feedparser is
skipped until a release has it, and the JSON Feed's conformance is checked member by member here.
"""

from __future__ import annotations

import calendar
import importlib.util
import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recnet.formats.feeds import (
    ATOM,
    JSON_FEED,
    FeedEntry,
    atom,
    json_feed,
    rfc3339,
)

NS = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
HOST = "https://recnet.example"
FEED_UPDATED = datetime(2024, 4, 1, 12, 0, tzinfo=UTC)

RUSSIAN_TITLE = 'Реабилитация детей: «Мост» & <школа> "2024"'
TRICKY_TITLE = "Fish & chips <b>not bold</b> \"quoted\" 'single' ]]> &amp;"

ENTRIES = (
    FeedEntry(
        id="urn:uuid:6f1c1a0e-3b0e-4c55-9d7e-1f2a3b4c5d6e",
        title="Community-based reintegration",
        summary="Family tracing & reunification <pilot>",
        updated=datetime(2024, 5, 1, 9, 30, tzinfo=UTC),
        published=datetime(2023, 11, 2, 8, 0, tzinfo=UTC),
        url=f"{HOST}/v1/practices/6f1c1a0e-3b0e-4c55-9d7e-1f2a3b4c5d6e",
        language="en",
        author="UZB",
        categories=("WG2", "family-reunification"),
    ),
    FeedEntry(
        id="urn:uuid:0b8e7c52-9a7e-4d0c-8f57-3d9c2e1a4b5f",
        title=RUSSIAN_TITLE,
        summary=None,
        updated=datetime(2024, 4, 20, 6, 15, 30, 123456, tzinfo=UTC),
        published=datetime(2024, 4, 19, 6, 15, tzinfo=UTC),
        url=f"{HOST}/v1/programmes/0b8e7c52-9a7e-4d0c-8f57-3d9c2e1a4b5f?lang=ru&x=1",
        language="ru",
        author="KAZ",
    ),
    FeedEntry(
        id="urn:uuid:9d4b3f1e-2c6a-4e8b-a1d0-5f6e7a8b9c0d",
        title=TRICKY_TITLE,
        summary="Line one\nLine two\twith a tab",
        updated=datetime(2024, 3, 3, 3, 3, 3, tzinfo=UTC),
        published=datetime(2024, 3, 3, 3, 3, 3, tzinfo=UTC),
        url=f"{HOST}/v1/practices/9d4b3f1e-2c6a-4e8b-a1d0-5f6e7a8b9c0d",
        language=None,
        author="TJK",
        categories=("WG1",),
    ),
)


def _atom(entries: Sequence[FeedEntry] = ENTRIES, **overrides: Any) -> bytes:
    arguments: dict[str, Any] = {
        "feed_id": f"{HOST}/v1/feeds/practices.atom",
        "title": "recnet: good practices",
        "self_url": f"{HOST}/v1/feeds/practices.atom?lang=en",
        "alternate_url": f"{HOST}/v1/practices",
        "updated": FEED_UPDATED,
        "entries": entries,
        "next_url": f"{HOST}/v1/feeds/practices.atom?lang=en&cursor=abc",
        "language": "en",
    }
    arguments.update(overrides)
    return atom(**arguments)


def _json_feed(entries: Sequence[FeedEntry] = ENTRIES, **overrides: Any) -> bytes:
    arguments: dict[str, Any] = {
        "title": "recnet: good practices",
        "home_page_url": f"{HOST}/v1/practices",
        "feed_url": f"{HOST}/v1/feeds/practices.json?lang=en",
        "description": "Good practices of rehabilitation and reintegration in Central Asia",
        "entries": entries,
        "next_url": f"{HOST}/v1/feeds/practices.json?lang=en&cursor=abc",
        "language": "en",
    }
    arguments.update(overrides)
    return json_feed(**arguments)


def _struct(moment: datetime) -> int:
    """Seconds since the epoch, to compare with feedparser's ``*_parsed`` (UTC struct_time)."""
    return calendar.timegm(moment.astimezone(UTC).replace(microsecond=0).timetuple())


def _xml_allowed(char: str) -> bool:
    """The XML 1.0 Char production, written out independently of the encoder's regex."""
    code = ord(char)
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


def _as_xml_text(text: str) -> str:
    """What an XML parser reads back from ``text`` written as element content: characters XML
    cannot carry are gone, and line ends are normalised to LF (XML 1.0, 2.11)."""
    kept = "".join(c for c in text if _xml_allowed(c))
    return kept.replace("\r\n", "\n").replace("\r", "\n")


# Atom ---------------------------------------------------------------------------------------------


def test_content_types() -> None:
    assert ATOM == "application/atom+xml; charset=utf-8"
    assert JSON_FEED == "application/feed+json; charset=utf-8"


def test_atom_is_read_by_feedparser() -> None:
    parsed = feedparser.parse(_atom())

    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.encoding == "utf-8"
    feed = parsed.feed
    assert feed.id == f"{HOST}/v1/feeds/practices.atom"
    assert feed.title == "recnet: good practices"
    assert feed.language == "en"
    # The latest entry is later than the updated given, so the feed says so.
    assert feed.updated == "2024-05-01T09:30:00Z"
    # feedparser fills in text/html for the alternate link, which has no type of its own.
    assert {(link.rel, link.href, link.type) for link in feed.links} == {
        ("self", f"{HOST}/v1/feeds/practices.atom?lang=en", "application/atom+xml"),
        ("alternate", f"{HOST}/v1/practices", "text/html"),
        ("next", f"{HOST}/v1/feeds/practices.atom?lang=en&cursor=abc", "application/atom+xml"),
    }

    assert [e.id for e in parsed.entries] == [e.id for e in ENTRIES]
    assert [e.title for e in parsed.entries] == [
        "Community-based reintegration",
        RUSSIAN_TITLE,
        TRICKY_TITLE,
    ]
    for got, want in zip(parsed.entries, ENTRIES, strict=True):
        assert got.title_detail.type == "text/plain"
        # feedparser's ``link`` is the alternate link only when it is HTML (ours is JSON); for
        # anything else it falls back to the id, as for an RSS guid. So check ``links``.
        assert [(link.rel, link.type, link.href) for link in got.links] == [
            ("alternate", "application/json", want.url)
        ]
        assert calendar.timegm(got.updated_parsed) == _struct(want.updated)
        assert calendar.timegm(got.published_parsed) == _struct(want.published)
        assert got.author == want.author
        assert [tag.term for tag in got.get("tags", [])] == list(want.categories)
        assert got.get("summary") == want.summary
        assert got.title_detail.language == (want.language or "en")  # inherited from the feed
    assert parsed.entries[1].updated == "2024-04-20T06:15:30Z"


def test_atom_structure_under_a_strict_parser() -> None:
    document = _atom()
    assert document.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert RUSSIAN_TITLE.split(":")[0].encode("utf-8") in document  # raw UTF-8, not references

    root = ET.fromstring(document)
    assert root.tag == f"{NS}feed"
    assert root.get(XML_LANG) == "en"
    # RFC 4287's required feed members, once each.
    for name in ("id", "title", "updated"):
        assert len(root.findall(f"{NS}{name}")) == 1
    entries = root.findall(f"{NS}entry")
    assert len(entries) == len(ENTRIES)
    for element, want in zip(entries, ENTRIES, strict=True):
        assert element.get(XML_LANG) == want.language
        assert element.findtext(f"{NS}id") == want.id
        assert [(t.get("type"), t.text) for t in element.findall(f"{NS}title")] == [
            ("text", want.title)
        ]
        assert element.findtext(f"{NS}updated") == rfc3339(want.updated)
        assert element.findtext(f"{NS}published") == rfc3339(want.published)
        assert element.findtext(f"{NS}author/{NS}name") == want.author
        summary = element.find(f"{NS}summary")
        if want.summary is None:
            assert summary is None
        else:
            assert summary is not None
            assert (summary.get("type"), summary.text) == ("text", want.summary)
        assert [c.get("term") for c in element.findall(f"{NS}category")] == list(want.categories)


def test_atom_without_next_link_or_language() -> None:
    document = _atom(next_url=None, language=None)
    parsed = feedparser.parse(document)
    assert parsed.bozo == 0
    assert "next" not in {link.rel for link in parsed.feed.links}
    assert XML_LANG not in ET.fromstring(document).attrib


def test_atom_feed_updated_is_the_given_one_when_later() -> None:
    later = datetime(2025, 1, 1, tzinfo=UTC)
    assert feedparser.parse(_atom(updated=later)).feed.updated == "2025-01-01T00:00:00Z"


def test_empty_atom_feed_is_valid() -> None:
    document = _atom(entries=(), next_url=None)
    parsed = feedparser.parse(document)

    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.entries == []
    assert parsed.feed.updated == "2024-04-01T12:00:00Z"
    root = ET.fromstring(document)
    assert root.findall(f"{NS}entry") == []
    assert root.findtext(f"{NS}updated") == "2024-04-01T12:00:00Z"


CONTROL_TITLE = "a\x00b\x01c\x08d\x0be\x0cf\x1fg\ufffeh\uffffi\ud800j\udfffk"


def test_control_characters_do_not_break_the_xml() -> None:
    entry = FeedEntry(
        id="urn:uuid:\x00c0ffee",
        title=CONTROL_TITLE,
        summary="tab\tand newline\nkept, \x07bell\x1b[0m dropped",
        updated=FEED_UPDATED,
        published=FEED_UPDATED,
        url=f"{HOST}/v1/practices/\x01x",
        language="ru\x00",
        author="UZB\x02",
        categories=("WG\x031",),
    )
    document = _atom(entries=[entry], title="feed\x00title", feed_id="urn:x\x1f")

    ET.fromstring(document)  # expat rejects any character XML 1.0 does not allow
    parsed = feedparser.parse(document)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.feed.title == "feedtitle"
    assert parsed.feed.id == "urn:x"
    (got,) = parsed.entries
    assert got.title == "abcdefghijk"
    assert got.summary == "tab\tand newline\nkept, bell[0m dropped"
    assert got.id == "urn:uuid:c0ffee"
    assert [link.href for link in got.links] == [f"{HOST}/v1/practices/x"]
    assert got.author == "UZB"
    assert [tag.term for tag in got.tags] == ["WG1"]
    assert got.title_detail.language == "ru"


# Any text at all, lone surrogates included (hypothesis leaves them out unless asked).
_any_text = st.text(st.characters(exclude_categories=()), max_size=40)


@settings(max_examples=300, deadline=None)
@given(title=_any_text, summary=_any_text, term=_any_text, author=_any_text)
def test_any_text_gives_well_formed_xml(title: str, summary: str, term: str, author: str) -> None:
    entry = FeedEntry(
        id="urn:uuid:1",
        title=title,
        summary=summary,
        updated=FEED_UPDATED,
        published=FEED_UPDATED,
        url=f"{HOST}/v1/practices/1",
        language="en",
        author=author,
        categories=(term,),
    )
    root = ET.fromstring(_atom(entries=[entry]))

    element = root.find(f"{NS}entry")
    assert element is not None
    assert (element.findtext(f"{NS}title") or "") == _as_xml_text(title)
    assert (element.findtext(f"{NS}author/{NS}name") or "") == _as_xml_text(author)
    if summary:
        assert (element.findtext(f"{NS}summary") or "") == _as_xml_text(summary)
    # Attribute values keep CR: the writer escapes it as a character reference.
    (category,) = element.findall(f"{NS}category")
    assert category.get("term") == "".join(c for c in term if _xml_allowed(c))


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2024, 5, 1, 9, 30)
    entry = FeedEntry(
        id="urn:uuid:1",
        title="t",
        summary=None,
        updated=naive,
        published=FEED_UPDATED,
        url=f"{HOST}/v1/practices/1",
        language=None,
        author="UZB",
    )
    with pytest.raises(ValueError, match="naive"):
        _atom(entries=[entry])
    with pytest.raises(ValueError, match="naive"):
        _json_feed(entries=[entry])
    with pytest.raises(ValueError, match="naive"):
        _atom(entries=(), updated=naive)


def test_times_are_written_in_utc() -> None:
    tashkent = timezone(timedelta(hours=5))
    assert rfc3339(datetime(2024, 5, 1, 14, 30, 0, 999999, tzinfo=tashkent)) == (
        "2024-05-01T09:30:00Z"
    )


# JSON Feed ----------------------------------------------------------------------------------------


def _load(document: bytes) -> dict[str, Any]:
    feed = json.loads(document.decode("utf-8"))
    assert isinstance(feed, dict)
    return feed


def _no_nulls(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, dict):
        return all(_no_nulls(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_nulls(v) for v in value)
    return True


def _is_rfc3339_utc(value: object) -> bool:
    if not isinstance(value, str) or not value.endswith("Z"):
        return False
    return datetime.fromisoformat(value).tzinfo is not None


def _check_json_feed_1_1(feed: dict[str, Any]) -> None:
    """The members JSON Feed 1.1 requires, and the types of the optional ones present."""
    # Required at the top level: version, title, items.
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(feed["title"], str)
    assert isinstance(feed["items"], list)
    for key in ("home_page_url", "feed_url", "description", "next_url", "language"):
        assert isinstance(feed.get(key, ""), str), key
    assert _no_nulls(feed)
    ids = [item["id"] for item in feed["items"]]
    assert len(set(ids)) == len(ids)
    for item in feed["items"]:
        # Required per item: id, and content_html or content_text.
        assert isinstance(item["id"], str)
        assert item["id"]
        assert isinstance(item.get("content_html"), str) or isinstance(
            item.get("content_text"), str
        )
        for key in ("url", "title", "summary", "language"):
            assert isinstance(item.get(key, ""), str), key
        for key in ("date_published", "date_modified"):
            assert key not in item or _is_rfc3339_utc(item[key]), key
        for author in item.get("authors", []):
            assert isinstance(author, dict)
            assert isinstance(author["name"], str)
        assert all(isinstance(tag, str) for tag in item.get("tags", []))


def test_json_feed_has_the_members_the_spec_requires() -> None:
    document = _json_feed()
    feed = _load(document)
    _check_json_feed_1_1(feed)

    assert RUSSIAN_TITLE.encode("utf-8") in document.replace(b'\\"', b'"')  # not \u escapes
    assert {k: v for k, v in feed.items() if k != "items"} == {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "recnet: good practices",
        "home_page_url": f"{HOST}/v1/practices",
        "feed_url": f"{HOST}/v1/feeds/practices.json?lang=en",
        "description": "Good practices of rehabilitation and reintegration in Central Asia",
        "language": "en",
        "next_url": f"{HOST}/v1/feeds/practices.json?lang=en&cursor=abc",
    }
    assert feed["items"][0] == {
        "id": "urn:uuid:6f1c1a0e-3b0e-4c55-9d7e-1f2a3b4c5d6e",
        "url": f"{HOST}/v1/practices/6f1c1a0e-3b0e-4c55-9d7e-1f2a3b4c5d6e",
        "title": "Community-based reintegration",
        "summary": "Family tracing & reunification <pilot>",
        "content_text": "Family tracing & reunification <pilot>",
        "date_published": "2023-11-02T08:00:00Z",
        "date_modified": "2024-05-01T09:30:00Z",
        "authors": [{"name": "UZB"}],
        "tags": ["WG2", "family-reunification"],
        "language": "en",
    }
    # No summary: the title is the content, and absent members are left out, not null.
    second = feed["items"][1]
    assert second["title"] == RUSSIAN_TITLE
    assert second["content_text"] == RUSSIAN_TITLE
    assert "summary" not in second
    assert second["date_modified"] == "2024-04-20T06:15:30Z"
    assert second["tags"] == []
    assert "language" not in feed["items"][2]
    assert feed["items"][2]["title"] == TRICKY_TITLE


def test_json_feed_without_next_url_or_language() -> None:
    feed = _load(_json_feed(next_url=None, language=None))
    _check_json_feed_1_1(feed)
    assert "next_url" not in feed
    assert "language" not in feed


def test_empty_json_feed_is_valid() -> None:
    feed = _load(_json_feed(entries=(), next_url=None))
    _check_json_feed_1_1(feed)
    assert feed["items"] == []


def test_json_feed_keeps_control_characters_and_drops_lone_surrogates() -> None:
    entry = FeedEntry(
        id="urn:uuid:1",
        title=CONTROL_TITLE,
        summary=None,
        updated=FEED_UPDATED,
        published=FEED_UPDATED,
        url=f"{HOST}/v1/practices/1",
        language=None,
        author="UZB",
    )
    feed = _load(_json_feed(entries=[entry]))
    _check_json_feed_1_1(feed)
    # JSON escapes control characters, so they survive; UTF-8 cannot carry a lone surrogate.
    assert feed["items"][0]["title"] == "a\x00b\x01c\x08d\x0be\x0cf\x1fg\ufffeh\uffffijk"


@pytest.mark.skipif(
    importlib.util.find_spec("feedparser.parsers.json") is None,
    reason=f"feedparser {feedparser.__version__} does not read JSON Feed",
)
def test_json_feed_is_read_by_feedparser() -> None:
    parsed = feedparser.parse(_json_feed())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "json11"
    assert parsed.feed.title == "recnet: good practices"
    assert "next" in {link["rel"] for link in parsed.feed.links}
    assert [e.id for e in parsed.entries] == [e.id for e in ENTRIES]
    assert [e.title for e in parsed.entries] == [e.title for e in ENTRIES]
    assert [e.link for e in parsed.entries] == [e.url for e in ENTRIES]  # JSON's url is the link
