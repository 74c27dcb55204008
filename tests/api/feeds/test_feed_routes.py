"""Atom and JSON Feed of the latest published records: what each reader may see, in its language,
paged, conditional, and valid for a standard feed reader."""

from __future__ import annotations

import feedparser
import pytest
from fastapi.testclient import TestClient

from recnet.app import create_app
from recnet.auth.principal import Role
from recnet.db import Database
from recnet.services.practices import PRACTICES
from recnet.services.programmes import PROGRAMMES
from tests.conftest import make_settings
from tests.factories import make_record

KINDS = {"practices": PRACTICES, "programmes": PROGRAMMES}


@pytest.fixture(params=sorted(KINDS))
def plural(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_atom_lists_only_what_the_reader_may_see_newest_first(
    client: TestClient, database: Database, plural: str, role_headers
) -> None:
    kind = KINDS[plural]
    old = make_record(database, kind, status="published", tlp="CLEAR")
    new = make_record(database, kind, status="published", tlp="CLEAR")
    green = make_record(database, kind, status="published", tlp="GREEN")
    make_record(database, kind, status="draft", tlp="CLEAR")
    make_record(database, kind, status="published", tlp="RED")
    response = client.get(f"/v1/feeds/{plural}.atom")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert [e.id for e in parsed.entries] == [f"urn:uuid:{new.id}", f"urn:uuid:{old.id}"]
    entry = parsed.entries[0]
    assert entry.title == new.data["title"]["en"]
    assert any(link.href.endswith(f"/v1/{plural}/{new.id}") for link in entry.links)
    partner = feedparser.parse(
        client.get(f"/v1/feeds/{plural}.atom", headers=role_headers[Role.partner]).content
    )
    assert f"urn:uuid:{green.id}" in [e.id for e in partner.entries]


def test_titles_come_in_the_language_asked_for(
    client: TestClient, database: Database, plural: str
) -> None:
    record = make_record(database, KINDS[plural], status="published")
    parsed = feedparser.parse(client.get(f"/v1/feeds/{plural}.atom", params={"lang": "ru"}).content)
    assert parsed.entries[0].title == record.data["title"]["ru"]
    as_json = client.get(f"/v1/feeds/{plural}.json", headers={"Accept-Language": "ru"}).json()
    assert as_json["items"][0]["title"] == record.data["title"]["ru"]
    assert as_json["items"][0]["language"] == "ru"


def test_json_feed_has_every_required_field_and_pages(
    client: TestClient, database: Database, plural: str
) -> None:
    made = [make_record(database, KINDS[plural], status="published") for _ in range(5)]
    response = client.get(f"/v1/feeds/{plural}.json", params={"limit": 2})
    assert response.headers["content-type"] == "application/feed+json; charset=utf-8"
    feed = response.json()
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"]
    seen = []
    while True:
        for item in feed["items"]:
            assert item["id"]
            assert item.get("content_text") or item.get("content_html")
            seen.append(item["id"])
        if "next_url" not in feed:
            break
        feed = client.get(feed["next_url"]).json()
    assert seen == [f"urn:uuid:{r.id}" for r in reversed(made)]
    atom = feedparser.parse(client.get(f"/v1/feeds/{plural}.atom", params={"limit": 2}).content)
    assert any(link.rel == "next" for link in atom.feed.links)


def test_feeds_answer_304_when_nothing_changed(
    client: TestClient, database: Database, plural: str
) -> None:
    make_record(database, KINDS[plural], status="published")
    for form in ("atom", "json"):
        first = client.get(f"/v1/feeds/{plural}.{form}")
        again = client.get(
            f"/v1/feeds/{plural}.{form}", headers={"If-None-Match": first.headers["etag"]}
        )
        assert again.status_code == 304
    make_record(database, KINDS[plural], status="published")
    changed = client.get(
        f"/v1/feeds/{plural}.atom", headers={"If-None-Match": first.headers["etag"]}
    )
    assert changed.status_code == 200


def _links(client: TestClient, plural: str, headers: dict[str, str]) -> list[str]:
    """Every link of both feeds' first page (which has a next page)."""
    params = {"limit": "1"}
    answer = client.get(f"/v1/feeds/{plural}.atom", params=params, headers=headers)
    atom = feedparser.parse(answer.content)
    found = [link.href for link in atom.feed.links]
    assert len(found) == 3, "self, alternate and next"
    found += [link.href for entry in atom.entries for link in entry.links]
    feed = client.get(f"/v1/feeds/{plural}.json", params=params, headers=headers).json()
    found += [feed[k] for k in ("home_page_url", "feed_url", "next_url") if k in feed]
    found += [item["url"] for item in feed["items"]]
    assert any("cursor=" in link for link in found)
    return found


def test_feed_links_never_come_from_the_host_header(
    client: TestClient, database: Database, db_url: str, plural: str
) -> None:
    """A caller's Host header must not choose where a feed (perhaps cached for everyone) points:
    links start with RECNET_PUBLIC_URL, or are relative to the server's root without it."""
    for _ in range(2):
        make_record(database, KINDS[plural], status="published")
    forged = {"Host": "attacker.example", "X-Forwarded-Host": "attacker.example"}
    relative = _links(client, plural, forged)
    # The API's paths, the record pages (/practices/..., /programmes/...) and the explorer (/).
    assert all(link.startswith("/") and not link.startswith("//") for link in relative), relative

    configured = make_settings(db_url, public_url="https://recnet.example.org/api/")
    with TestClient(create_app(configured, database)) as public:
        absolute = _links(public, plural, forged)
    assert all(link.startswith("https://recnet.example.org/api/") for link in absolute), absolute
