"""Search results in relevance order: the most relevant first, ties in id order, pages that follow
that one order, and the caller's filters and visibility kept (on each backend)."""

from __future__ import annotations

import random

import pytest
from fastapi.testclient import TestClient

from recnet.db import Database
from recnet.services.practices import PRACTICES
from tests.factories import make_record

URL = "/v1/practices"


def practice(
    database: Database,
    title: str,
    summary: str = "Nothing to add.",
    description: str = "Nothing to add.",
    *,
    tenant: str = "UZB",
    status: str = "published",
    tlp: str = "CLEAR",
) -> str:
    texts = {"title": {"en": title}, "summary": {"en": summary}, "description": {"en": description}}
    return str(make_record(database, PRACTICES, tenant, status=status, tlp=tlp, **texts).id)


def found(client: TestClient, **params: str) -> list[str]:
    response = client.get(URL, params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_title_matches_rank_above_summary_above_description(
    client: TestClient, database: Database, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("fields are weighted on PostgreSQL only (SQLite scores one body per record)")
    # Made most relevant first: newest first, without ranking, would be the reverse.
    in_title = practice(database, "Beekeeping for returned families")
    in_summary = practice(database, "Livelihoods", "Families learn beekeeping.")
    in_description = practice(database, "Livelihoods", description="Families learn beekeeping.")
    practice(database, "Livelihoods", description="Families learn tailoring.")
    expected = [in_title, in_summary, in_description]
    assert found(client, q="beekeeping") == expected
    assert found(client, q="beekeeping", sort="relevance") == expected


def test_relevance_pages_follow_one_order_with_ties_in_id_order(
    client: TestClient, database: Database
) -> None:
    weak = practice(
        database,
        "Livelihoods for returned families",
        "Families back from the camps start small trades with a grant.",
        "Some of them keep bees: beekeeping needs little land and sells well in the towns.",
    )
    ties = [
        practice(database, "Beekeeping cooperative", "A cooperative of families.") for _ in range(7)
    ]
    strong = practice(
        database,
        "Beekeeping",
        "Beekeeping, beekeeping.",
        "Beekeeping beekeeping.",
    )
    practice(database, "Tailoring cooperative")

    whole = found(client, q="beekeeping", limit="50")
    assert whole == [strong, *sorted(ties), weak]
    paged: list[str] = []
    cursor = None
    while True:
        params = {"q": "beekeeping", "limit": "3", **({"cursor": cursor} if cursor else {})}
        page = client.get(URL, params=params).json()
        paged.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == whole


def test_search_keeps_the_filters_and_what_the_caller_may_read(
    client: TestClient, database: Database
) -> None:
    kaz = practice(database, "Beekeeping in Kazakhstan", tenant="KAZ")
    uzb = practice(database, "Beekeeping in Uzbekistan")
    practice(database, "Beekeeping, shared with partners", tlp="GREEN")
    practice(database, "Beekeeping, a draft", status="draft")
    practice(database, "Tailoring in Uzbekistan")

    assert sorted(found(client, q="beekeeping")) == sorted([kaz, uzb])
    assert found(client, q="beekeeping", tenant="UZB") == [uzb]
    assert found(client, q="beekeeping", tlp="GREEN") == []
    assert found(client, q="beekeeping", updated_since="2999-01-01T00:00:00Z") == []
    assert found(client, q="tailoring beekeeping") == []


def test_a_search_sorted_otherwise_keeps_only_the_matches(
    client: TestClient, database: Database
) -> None:
    """q with another sort: the matches in that order, never every record."""
    first = practice(database, "Beekeeping for returned families")
    practice(database, "Tailoring for returned families")
    second = practice(database, "Livelihoods", "Families learn beekeeping.")
    assert found(client, q="beekeeping", sort="-updated_at") == [second, first]
    assert found(client, q="beekeeping", sort="updated_at") == [first, second]
    assert found(client, q="zzzqqqnomatch", sort="-updated_at") == []
    paged = client.get(URL, params={"q": "beekeeping", "sort": "-updated_at", "limit": "1"})
    cursor = paged.json()["next_cursor"]
    assert found(client, q="beekeeping", sort="-updated_at", limit="1", cursor=cursor) == [first]


def test_order_of_results_does_not_depend_on_records_the_reader_cannot_see(
    client: TestClient, database: Database
) -> None:
    """Hidden records (another state's RED, drafts, GREEN for anonymous) with any words, in any
    number, never move what a reader sees: ranking statistics over every indexed record would
    let a reader count hidden records containing a word, and spell their text with prefixes."""
    rng = random.Random(17)
    vocabulary = ["alpha", "beta", "gamma", "delta", "alphabet", "betamax"]

    def text(size: int) -> str:
        return " ".join(rng.choice(vocabulary) for _ in range(size))

    # Two words weighted the other way round: an inverse document frequency that counts hidden
    # records containing "alpha" would turn these two over.
    practice(database, "alpha alpha alpha beta", "Nothing.", "Nothing.")
    practice(database, "alpha beta beta beta", "Nothing.", "Nothing.")
    for _ in range(8):
        practice(database, text(rng.randint(1, 6)), text(rng.randint(1, 12)), text(1))
    queries = ["alpha beta", "alpha", "beta", "gamma alpha", "delta", "alph", "bet gam"]
    before = {q: found(client, q=q, limit="100") for q in queries}
    assert any(len(ids) > 2 for ids in before.values())

    for round_ in range(3):
        for _ in range(4 * (round_ + 1)):
            hidden = rng.choice([("KAZ", "published", "RED"), ("UZB", "draft", "CLEAR")])
            tenant, status, tlp = hidden
            practice(
                database,
                "alpha " * rng.randint(1, 12) + text(rng.randint(1, 20)),
                text(rng.randint(1, 60)),
                text(rng.randint(1, 200)),
                tenant=tenant,
                status=status,
                tlp=tlp,
            )
        assert {q: found(client, q=q, limit="100") for q in queries} == before
