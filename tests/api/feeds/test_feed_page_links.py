"""Feed entries lead people to the record's page (HTML) and machines to the record (JSON)."""

from __future__ import annotations

import feedparser
import pytest
from fastapi.testclient import TestClient

from recnet.app import create_app
from recnet.db import Database
from recnet.services.practices import PRACTICES
from recnet.services.programmes import PROGRAMMES
from tests.conftest import make_settings
from tests.factories import make_record

KINDS = {"practices": PRACTICES, "programmes": PROGRAMMES}


@pytest.fixture(params=sorted(KINDS))
def plural(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_each_atom_entry_links_to_its_page_and_to_its_json(
    client: TestClient, database: Database, plural: str
) -> None:
    made = [make_record(database, KINDS[plural], status="published") for _ in range(3)]
    feed_url = f"/v1/feeds/{plural}.atom"
    # As a feed reader fetching the feed resolves its relative links: against the feed's URL.
    answer = client.get(feed_url)
    parsed = feedparser.parse(
        answer.content,
        response_headers={
            "content-type": answer.headers["content-type"],
            "content-location": f"http://testserver{feed_url}",
        },
    )
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert len(parsed.entries) == len(made)
    for entry in parsed.entries:
        record_id = entry.id.removeprefix("urn:uuid:")
        assert entry.link == f"http://testserver/{plural}/{record_id}"
        by_type = {link.type: link.href for link in entry.links if link.rel == "alternate"}
        assert by_type == {
            "text/html": f"http://testserver/{plural}/{record_id}",
            "application/json": f"http://testserver/v1/{plural}/{record_id}",
        }
        page = client.get(entry.link.removeprefix("http://testserver"))
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert entry.title in page.text
    assert parsed.feed.link == "http://testserver/", "the feed's own page is the explorer"


def test_with_a_public_url_feedparser_gives_each_entry_an_absolute_http_link(
    database: Database, db_url: str, plural: str
) -> None:
    record = make_record(database, KINDS[plural], status="published")
    configured = make_settings(db_url, public_url="https://recnet.example.org")
    with TestClient(create_app(configured, database)) as public:
        parsed = feedparser.parse(public.get(f"/v1/feeds/{plural}.atom").content)
    (entry,) = parsed.entries
    assert entry.link == f"https://recnet.example.org/{plural}/{record.id}"
    assert entry.link.startswith("http")


def test_json_feed_items_are_the_pages_with_the_json_attached(
    client: TestClient, database: Database, plural: str
) -> None:
    record = make_record(database, KINDS[plural], status="published")
    feed = client.get(f"/v1/feeds/{plural}.json", params={"lang": "ru"}).json()
    assert feed["home_page_url"] == "/"
    (item,) = feed["items"]
    assert item["url"] == f"/{plural}/{record.id}"
    assert item["attachments"] == [
        {"url": f"/v1/{plural}/{record.id}", "mime_type": "application/json"}
    ]
    page = client.get(item["url"], params={"lang": "ru"})
    assert item["title"] in page.text
    assert client.get(item["attachments"][0]["url"]).json()["id"] == str(record.id)
