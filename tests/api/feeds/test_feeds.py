"""The change feed: what each reader may see, removals, conditional requests, long polls, and a
follower that ends with exactly what the lists show it."""

from __future__ import annotations

import random
import threading
import time

import pytest
from fastapi.testclient import TestClient

from recnet.auth.principal import Principal, Role
from recnet.db import Database
from recnet.services import clients, feeds
from recnet.services.practices import PRACTICES
from tests.factories import (
    bearer,
    client_for_role,
    get_token,
    make_record,
    practice_body,
    programme_body,
)

URL = "/v1/feeds/changes"


def follow(client: TestClient, headers: dict[str, str], replica: dict, cursor: str | None) -> str:
    """Page through the feed from ``cursor`` to its end, applying every item to ``replica``."""
    while True:
        params = {"limit": 7, **({"after": cursor} if cursor else {})}
        response = client.get(URL, params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        feeds.replay(page["items"], replica)
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return cursor


def listed(client: TestClient, headers: dict[str, str]) -> dict[str, int]:
    """Every record the lists show this reader: id → version."""
    found: dict[str, int] = {}
    for plural in ("practices", "programmes"):
        cursor = None
        while True:
            params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            page = client.get(f"/v1/{plural}", params=params, headers=headers).json()
            found.update({item["id"]: item["version"] for item in page["items"]})
            cursor = page["next_cursor"]
            if cursor is None:
                break
    return found


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_follower_ends_with_exactly_what_the_lists_show(
    client: TestClient, database: Database, role_headers, seed: int
) -> None:
    rng = random.Random(seed)
    agencies = {
        state: bearer(get_token(client, client_for_role(database, Role.member_state, state)))
        for state in ("UZB", "KAZ")
    }
    readers = {
        "partner": role_headers[Role.partner],
        "researcher": role_headers[Role.researcher],
        "uzbekistan": agencies["UZB"],
    }
    replicas: dict[str, dict] = {name: {} for name in readers}
    cursors: dict[str, str | None] = dict.fromkeys(readers)
    created: list[tuple[str, str, str]] = []  # (state, plural, id)
    markings = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
    for step in range(40):
        state = rng.choice(["UZB", "KAZ"])
        action = rng.choice(["create", "create", "patch", "publish", "withdraw"])
        mine = [c for c in created if c[0] == state]
        if action == "create" or not mine:
            plural, body = rng.choice(
                [("practices", practice_body), ("programmes", programme_body)]
            )
            status = rng.choice(["draft", "published"])
            response = client.post(
                f"/v1/{plural}",
                json=body(tlp=rng.choice(markings), status=status),
                headers=agencies[state],
            )
            assert response.status_code == 201
            created.append((state, plural, response.json()["id"]))
        else:
            _, plural, record_id = rng.choice(mine)
            url = f"/v1/{plural}/{record_id}"
            if action == "patch":
                client.patch(
                    url,
                    json={"tlp": rng.choice(markings)},
                    headers={**agencies[state], "If-Match": "*"},
                )
            elif action == "publish":
                client.post(f"{url}/publish", headers=agencies[state])
            else:
                client.delete(url, headers=agencies[state])
        if step % 6 == 0:  # followers catch up now and then, mid-stream
            for name, headers in readers.items():
                cursors[name] = follow(client, headers, replicas[name], cursors[name])
    for name, headers in readers.items():
        follow(client, headers, replicas[name], cursors[name])
        expected = listed(client, headers)
        assert {rid: r["version"] for rid, r in replicas[name].items()} == expected, name


def test_a_record_that_becomes_invisible_is_removed_and_unseen_ones_stay_unknown(
    client: TestClient, database: Database, role_headers
) -> None:
    uzb = bearer(get_token(client, client_for_role(database, Role.member_state, "UZB")))
    partner = role_headers[Role.partner]
    shared = client.post(
        "/v1/practices", json=practice_body(tlp="GREEN", status="published"), headers=uzb
    ).json()
    secret = client.post(
        "/v1/practices", json=practice_body(tlp="RED", status="published"), headers=uzb
    ).json()
    first = client.get(URL, headers=partner).json()
    assert [(i["type"], i["record_id"]) for i in first["items"]] == [("upsert", shared["id"])]
    client.patch(
        f"/v1/practices/{shared['id']}", json={"tlp": "RED"}, headers={**uzb, "If-Match": "*"}
    )
    client.patch(
        f"/v1/practices/{secret['id']}",
        json={"tlp": "AMBER+STRICT"},
        headers={**uzb, "If-Match": "*"},
    )
    later = client.get(URL, params={"after": first["next_cursor"]}, headers=partner).json()
    assert [(i["type"], i["record_id"]) for i in later["items"]] == [("removal", shared["id"])]
    assert "record" not in later["items"][0]
    assert secret["id"] not in str(first) + str(later), "a record never seen is never named"


def test_a_feed_of_some_kinds_tracks_their_records_alone(
    client: TestClient, database: Database, role_headers
) -> None:
    """kinds=practice: practices' upserts and removals, nothing of programmes or statistics."""
    uzb = bearer(get_token(client, client_for_role(database, Role.member_state, "UZB")))
    partner = role_headers[Role.partner]
    practice = client.post(
        "/v1/practices", json=practice_body(tlp="GREEN", status="published"), headers=uzb
    ).json()
    programme = client.post(
        "/v1/programmes", json=programme_body(tlp="GREEN", status="published"), headers=uzb
    ).json()
    params = {"kinds": "practice"}
    first = client.get(URL, params=params, headers=partner).json()
    assert [(i["type"], i["record_id"]) for i in first["items"]] == [("upsert", practice["id"])]
    assert first["items"][0]["record"]["id"] == practice["id"]
    for plural, made in (("practices", practice), ("programmes", programme)):
        client.patch(
            f"/v1/{plural}/{made['id']}", json={"tlp": "RED"}, headers={**uzb, "If-Match": "*"}
        )
    later = client.get(
        URL, params={**params, "after": first["next_cursor"]}, headers=partner
    ).json()
    assert [(i["type"], i["record_id"]) for i in later["items"]] == [("removal", practice["id"])]
    both = client.get(URL, params={"kinds": "practice,programme"}, headers=partner).json()
    assert {i["record_id"] for i in both["items"]} == {practice["id"], programme["id"]}


def test_nothing_new_is_304(client: TestClient, database: Database, role_headers) -> None:
    make_record(database, PRACTICES, status="published")
    headers = role_headers[Role.partner]
    page = client.get(URL, headers=headers)
    again = client.get(URL, headers={**headers, "If-None-Match": page.headers["etag"]})
    assert again.status_code == 304
    make_record(database, PRACTICES, status="published")
    changed = client.get(URL, headers={**headers, "If-None-Match": page.headers["etag"]})
    assert changed.status_code == 200


def test_a_long_poll_returns_when_something_new_is_visible(
    client: TestClient, database: Database, role_headers
) -> None:
    headers = role_headers[Role.partner]
    cursor = client.get(URL, headers=headers).json()["next_cursor"]
    made: list[str] = []

    def later() -> None:
        time.sleep(0.6)
        made.append(str(make_record(database, PRACTICES, status="published").id))

    writer = threading.Thread(target=later)
    writer.start()
    response = client.get(URL, params={"after": cursor, "wait": 20}, headers=headers)
    writer.join()
    assert [i["record_id"] for i in response.json()["items"]] == made
    quiet = client.get(
        URL, params={"after": response.json()["next_cursor"], "wait": 0.6}, headers=headers
    )
    assert quiet.json()["items"] == []


def test_statistics_changes_carry_protected_figures_below_the_owner(
    client: TestClient, database: Database, role_headers
) -> None:
    uzb = bearer(get_token(client, client_for_role(database, Role.member_state, "UZB")))
    observation = {
        "REF_AREA": "UZB", "INDICATOR": "RETURNED", "AGE": "_T",
        "COUNTERPART_AREA": "SYR", "TIME_PERIOD": "2019",
    }  # fmt: skip
    rows = [{**observation, "SEX": s, "OBS_VALUE": v} for s, v in (("F", 2), ("M", 30), ("_T", 32))]
    assert (
        client.post(
            "/v1/statistics/observations", json={"observations": rows}, headers=uzb
        ).status_code
        == 200
    )

    def changes(headers: dict[str, str]) -> dict[str, tuple]:
        [item] = client.get(URL, params={"kinds": "statistics"}, headers=headers).json()["items"]
        return {change[1]: (change[5], change[6]) for change in item["changes"]}

    assert changes(uzb) == {"F": (2, "F"), "M": (30, "F"), "_T": (32, "F")}
    partner = changes(role_headers[Role.partner])
    assert partner["F"] == (None, "C")
    assert list(partner.values()).count((None, "C")) == 2, "F and one more"


def test_the_feed_needs_a_token_with_feeds_read(client: TestClient, database: Database) -> None:
    assert client.get(URL).status_code == 401
    writer = client_for_role(database, Role.member_state)
    token = get_token(client, writer, scope="practices:write")
    refused = client.get(URL, headers=bearer(token))
    assert refused.status_code == 403
    assert (
        client.get(
            URL, params={"kinds": "weather"}, headers=bearer(get_token(client, writer))
        ).status_code
        == 422
    )


def test_has_more_is_exact_at_batch_boundaries(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether anything follows a page comes from the batch read itself (one row beyond it),
    wherever the page ends: inside a batch, at its end, or at the log's end."""
    monkeypatch.setattr(feeds, "_BATCH", 3)
    partner = Principal(role=Role.partner, client_id="p", organisation="UNICEF")
    for _ in range(6):
        make_record(database, PRACTICES, status="published", tlp="CLEAR")

    def read(after: int, limit: int) -> tuple[int, bool]:
        with database.transaction(write=False) as session:
            found = feeds.page(session, partner, after=after, limit=limit)
        return len(found.items), found.has_more

    assert read(0, 6) == (6, False)  # ends with the second batch, nothing beyond
    assert read(0, 5) == (5, True)  # ends inside a batch
    assert read(0, 3) == (3, True)  # ends with the first batch, more beyond it
    assert read(0, 500) == (6, False)
    make_record(database, PRACTICES, "KAZ", status="draft", tlp="RED")  # not the partner's
    assert read(0, 6) == (6, True)  # something follows, though not visible
    with database.transaction(write=False) as session:
        end = feeds.page(session, partner, after=0, limit=500)
    assert (len(end.items), end.has_more) == (6, False)  # the cursor moved past it
    assert read(end.last_seq, 10) == (0, False)


@pytest.mark.parametrize("change", ["disable", "rotate"])
def test_disabling_or_rotating_a_client_ends_its_open_long_poll(
    client: TestClient, database: Database, change: str
) -> None:
    """A long poll opened before `clients disable` (or `rotate`) stops delivering at its next
    look, instead of running on with the client as it was when it began."""
    partner = client_for_role(database, Role.partner)
    headers = bearer(get_token(client, partner))
    cursor = client.get(URL, headers=headers).json()["next_cursor"]

    def later() -> None:
        time.sleep(0.3)
        with database.transaction() as session:
            if change == "disable":
                clients.disable_client(session, partner.client_id)
            else:
                clients.rotate_secret(session, partner.client_id)
        time.sleep(0.3)
        make_record(database, PRACTICES, status="published")

    changer = threading.Thread(target=later)
    changer.start()
    started = time.monotonic()
    answer = client.get(URL, params={"after": cursor, "wait": 20}, headers=headers)
    changer.join()
    assert answer.status_code == 401, answer.text
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]
    assert time.monotonic() - started < 5
