"""Repeated failed token requests are audit events: the secretariat sees who was guessed at and
from where, in the hash-chained log, though every request that failed was rolled back; nobody
else sees them; and no number of guessers can flood the log."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from recnet.app import create_app
from recnet.auth import ratelimit
from recnet.auth.principal import Role
from recnet.db import Database
from recnet.services import auth as auth_service
from recnet.services import events
from tests.conftest import make_settings, owner_database
from tests.factories import Credentials, bearer, client_for_role

ATTACKER, AGENCY_OFFICE, SECRETARIAT_OFFICE = "203.0.113.9", "198.51.100.7", "192.0.2.44"
FINGERPRINT = re.compile(r"[0-9a-f]{32}")


class Caller:
    """Requests to one app from any address, as a real client over HTTP would send them."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def _send(self, address: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://recnet") as http:
            return await http.request(method, url, **kwargs)

    def request(self, address: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return asyncio.run(self._send(address, method, url, **kwargs))

    def token_request(self, address: str, client_id: str, secret: str) -> httpx.Response:
        data = {"grant_type": "client_credentials", "client_id": client_id}
        return self.request(
            address, "POST", "/v1/auth/token", data={**data, "client_secret": secret}
        )

    def token(self, address: str, credentials: Credentials) -> str:
        answer = self.token_request(address, credentials.client_id, credentials.client_secret)
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token

    def security_events(self, secretariat_token: str) -> list[dict[str, Any]]:
        """Every security event in the audit trail, as the secretariat reads it."""
        found, cursor = [], None
        while True:
            params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
            answer = self.request(
                SECRETARIAT_OFFICE,
                "GET",
                "/v1/audit",
                params=params,
                headers=bearer(secretariat_token),
            )
            assert answer.status_code == 200, answer.text
            page = answer.json()
            found += [e for e in page["items"] if e["kind"] == "security"]
            if page["next_cursor"] is None:
                return found
            cursor = page["next_cursor"]


def app_with(database: Database, **settings: object) -> FastAPI:
    return create_app(make_settings(database.settings.database_url, **settings), database)


def stored_security_events(url: str) -> list[dict[str, Any]]:
    """What the database holds, read on a connection of its own (so: committed)."""
    with owner_database(url).transaction(write=False) as session:
        return [
            e.model_dump(mode="json")
            for e in events.page(session, after=0, limit=10_000)
            if e.kind == "security"
        ]


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The clock that failure counts, waits and windows are kept by, moved by the test."""
    fake = Clock(1_000 * 3_600.0 + 1)  # just after the start of a window of any length up to 1 h
    monkeypatch.setattr(ratelimit, "time", fake)
    monkeypatch.setattr(auth_service, "time", fake)
    return fake


def test_ten_wrong_secrets_make_one_audit_event_for_the_secretariat(database: Database) -> None:
    agency = client_for_role(database, Role.member_state)
    secretariat = client_for_role(database, Role.secretariat)
    http = Caller(app_with(database))  # the default threshold: 10 failures
    secretariat_token = http.token(SECRETARIAT_OFFICE, secretariat)

    statuses = [
        http.token_request(ATTACKER, agency.client_id, f"guess-{n}").status_code for n in range(10)
    ]
    assert statuses == [401] * 10

    [event] = http.security_events(secretariat_token)
    assert event["action"] == "token_failures"
    # No tenant, no marking, no record, no actor: nothing a feed, webhook or agency is given.
    unset = (
        "tenant",
        "tlp",
        "status",
        "record_id",
        "version",
        "actor_client",
        "actor_organisation",
    )
    assert {name: event[name] for name in unset} == dict.fromkeys(unset)
    payload = event["payload"]
    assert payload["client_id"] == agency.client_id
    assert payload["organisation"] == "UZB"
    assert payload["client_registered"] is True
    assert payload["address"] == ATTACKER
    assert payload["failures"] == {"client_and_address": 10, "address": 10}
    assert payload["threshold"] == 10
    assert payload["last_in_window"] is False
    assert FINGERPRINT.fullmatch(payload["client_fingerprint"])

    # Every request that failed was rolled back, yet the event is committed: a connection of
    # its own reads it, and the hash chain takes it in.
    assert [e["seq"] for e in stored_security_events(database.settings.database_url)] == [
        event["seq"]
    ]
    with database.transaction(write=False) as session:
        checked, broken = events.verify(session)
    assert broken is None
    assert checked >= 1

    # The agency, from its own address, is not slowed down, and its success records nothing.
    assert http.token(AGENCY_OFFICE, agency)
    assert len(http.security_events(secretariat_token)) == 1


def test_nobody_but_the_secretariat_sees_the_event(database: Database) -> None:
    agency = client_for_role(database, Role.member_state)
    secretariat = client_for_role(database, Role.secretariat)
    http = Caller(app_with(database, rate_token_failures=3))
    for n in range(3):
        assert http.token_request(ATTACKER, agency.client_id, f"guess-{n}").status_code == 401
    assert len(http.security_events(http.token(SECRETARIAT_OFFICE, secretariat))) == 1

    everyone = {
        Role.member_state: agency,
        Role.partner: client_for_role(database, Role.partner),
        Role.researcher: client_for_role(database, Role.researcher),
        Role.secretariat: secretariat,
    }
    for role, credentials in everyone.items():
        headers = bearer(http.token(AGENCY_OFFICE, credentials))
        if role is not Role.secretariat:
            refused = http.request(AGENCY_OFFICE, "GET", "/v1/audit", headers=headers)
            assert refused.status_code == 403, role
        # Not in the change feed (nor so in webhooks, which deliver it) for anyone at all.
        feed = http.request(AGENCY_OFFICE, "GET", "/v1/feeds/changes", headers=headers)
        if feed.status_code == 200:
            assert all(item.get("kind") != "security" for item in feed.json()["items"]), role
            assert "token_failures" not in feed.text
        else:
            assert feed.status_code == 403, (role, feed.text)
    anonymous = http.request(AGENCY_OFFICE, "GET", "/v1/audit")
    assert anonymous.status_code == 401


def test_an_agency_that_mistypes_its_secret_leaves_no_event(database: Database) -> None:
    agency = client_for_role(database, Role.member_state)
    secretariat = client_for_role(database, Role.secretariat)
    http = Caller(app_with(database))
    for n in range(9):
        assert http.token_request(AGENCY_OFFICE, agency.client_id, f"typo-{n}").status_code == 401
    assert http.token(AGENCY_OFFICE, agency)
    assert http.security_events(http.token(SECRETARIAT_OFFICE, secretariat)) == []


HOSTILE_ID = 'rc_<script>alert("x")</script>\u202e' + "Ж" * 100
UNKNOWN_IDS = {
    # (how it is sent, the id, pieces of it that must appear nowhere in what is stored)
    "long-form": ("form", HOSTILE_ID + "x" * 300, ("script", "Ж", "xxxx", "\u202e", "rc_")),
    "huge-basic": ("basic", HOSTILE_ID + "x" * 3000, ("script", "Ж", "xxxx", "\u202e", "rc_")),
    # Short enough to be a client id, with a NUL PostgreSQL cannot even compare.
    "nul-form": ("form", "rc_\u0000<i>sé", ("<i>", "sé", "rc_")),
    "secret-pasted-as-id": ("form", "s3cr3t-Pasted-In-The-Wrong-Field", ("s3cr3t", "Pasted")),
}


@pytest.mark.parametrize("case", sorted(UNKNOWN_IDS))
def test_an_unknown_client_id_is_never_stored_as_sent(database: Database, case: str) -> None:
    """What a stranger sends as a client id (or an agency's secret pasted into the wrong field)
    is recorded only as a keyed fingerprint: bounded, and the same for the same id."""
    how, sent, pieces = UNKNOWN_IDS[case]
    secretariat = client_for_role(database, Role.secretariat)
    http = Caller(app_with(database, rate_token_failures=2))

    def fail(address: str) -> httpx.Response:
        if how == "form":
            return http.token_request(address, sent, "wrong")
        credentials = base64.b64encode(f"{sent}:wrong".encode()).decode()
        return http.request(
            address,
            "POST",
            "/v1/auth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {credentials}"},
        )

    for address in (ATTACKER, "2001:db8::1"):
        assert [fail(address).status_code for _ in range(2)] == [401, 401]

    found = http.security_events(http.token(SECRETARIAT_OFFICE, secretariat))
    assert len(found) == 2
    for event in found:
        payload = event["payload"]
        assert payload["client_id"] is None
        assert payload["organisation"] is None
        assert payload["client_registered"] is False
        assert FINGERPRINT.fullmatch(payload["client_fingerprint"])
    assert len({e["payload"]["client_fingerprint"] for e in found}) == 1, "the same id, grouped"
    assert {e["payload"]["address"] for e in found} == {ATTACKER, "2001:db8::1"}

    stored = json.dumps(stored_security_events(database.settings.database_url), ensure_ascii=False)
    for piece in pieces:
        assert piece not in stored
    assert len(stored) < 2000


def test_a_flood_of_addresses_records_a_bounded_number_of_events(
    database: Database, clock: Clock
) -> None:
    agency = client_for_role(database, Role.member_state)
    secretariat = client_for_role(database, Role.secretariat)
    # The clock stands still: the whole flood falls in one window.
    http = Caller(app_with(database, rate_token_failures=2, rate_token_failure_events=3))
    secretariat_token = http.token(SECRETARIAT_OFFICE, secretariat)
    addresses = [f"203.0.113.{n}" for n in range(1, 13)]
    for address in addresses:
        for n in range(2):
            answer = http.token_request(address, agency.client_id, f"guess-{n}")
            assert answer.status_code == 401, answer.text

    found = http.security_events(secretariat_token)
    assert [e["payload"]["last_in_window"] for e in found] == [False, False, True]
    assert [e["payload"]["address"] for e in found] == addresses[:3]
    assert len(stored_security_events(database.settings.database_url)) == 3
    assert http.token(AGENCY_OFFICE, agency)


@pytest.mark.slow
def test_one_guesser_makes_one_event_per_window_however_long_it_goes_on(
    database: Database, clock: Clock
) -> None:
    agency = client_for_role(database, Role.member_state)
    secretariat = client_for_role(database, Role.secretariat)
    window = 600
    http = Caller(
        app_with(
            database,
            rate_token_failures=3,
            rate_token_failure_window_seconds=window,
            rate_token_failure_max_delay_seconds=8,
        )
    )
    secretariat_token = http.token(SECRETARIAT_OFFICE, secretariat)

    def guess_until_refused_then_wait() -> None:
        """Guess as fast as allowed: until 429, then wait as long as Retry-After says."""
        while True:
            answer = http.token_request(ATTACKER, agency.client_id, "guess")
            if answer.status_code == 429:
                clock.now += int(answer.headers["retry-after"])
                return
            assert answer.status_code == 401

    start = clock.now
    while clock.now < start + window - 20:
        guess_until_refused_then_wait()
    within_one_window = http.security_events(secretariat_token)
    assert len(within_one_window) == 1
    assert within_one_window[0]["payload"]["failures"]["client_and_address"] == 3

    clock.now = start + window  # the next window; the failures are still remembered
    guess_until_refused_then_wait()
    guess_until_refused_then_wait()
    found = http.security_events(secretariat_token)
    assert len(found) == 2
    later = found[1]["payload"]["failures"]["client_and_address"]
    assert later > 50, "the count carries on: the attack did not stop"
    # Throughout, the agency's own address was never refused.
    assert http.token(AGENCY_OFFICE, agency)
