"""Webhooks: subscriptions through the API, and delivery to real HTTP receivers on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import col, select

from recnet.app import create_app
from recnet.auth.principal import Role
from recnet.auth.secrets import verify_signature
from recnet.clock import utcnow
from recnet.config import Settings
from recnet.db import Database
from recnet.errors import ValidationProblem
from recnet.models import Event, IdempotencyKey, Subscription
from recnet.schemas.vocabularies import OrganisationKind
from recnet.services import clients, webhooks
from recnet.services.practices import PRACTICES
from recnet.services.programmes import PROGRAMMES
from recnet.workers.webhooks import Worker
from tests.conftest import make_settings, owner_database
from tests.factories import (
    Credentials,
    bearer,
    client_for_role,
    get_token,
    make_client,
    make_record,
)

# --- Receivers --------------------------------------------------------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def seq(self) -> int:
        return int(self.headers["x-recnet-event"])


@dataclass
class Receiver:
    """A real HTTP server: answers each POST with the next planned status (then ``default``)."""

    plan: list[int] = field(default_factory=list)
    default: int = 200
    received: list[Received] = field(default_factory=list)
    # Seconds each answer takes: a slow receiver, so a worker can be stopped mid-delivery.
    delay: float = 0.0
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    @property
    def seqs(self) -> list[int]:
        return [r.seq for r in self.received]

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                time.sleep(receiver.delay)
                status = receiver.plan.pop(0) if receiver.plan else receiver.default
                receiver.received.append(
                    Received({k.lower(): v for k, v in self.headers.items()}, body, time.time())
                )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    started: list[Receiver] = []
    yield started
    for receiver in started:
        receiver.stop()


def receiver(
    started: list[Receiver], plan: list[int] | None = None, default: int = 200
) -> Receiver:
    made = Receiver(plan=list(plan or []), default=default).start()
    started.append(made)
    return made


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A receiver that accepts connections and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    sock.close()


# --- The service under test -------------------------------------------------------------------


@dataclass
class Hooks:
    settings: Settings
    database: Database
    http: TestClient

    def worker(self, **overrides: Any) -> Worker:
        settings = self.settings.model_copy(update=overrides) if overrides else self.settings
        return Worker(self.database, settings)

    def headers(self, credentials: Credentials) -> dict[str, str]:
        return bearer(get_token(self.http, credentials))

    def subscribe(
        self, headers: dict[str, str], url: str, kinds: list[str] | None = None
    ) -> dict[str, Any]:
        response = self.http.post(
            "/v1/subscriptions",
            json={"callback_url": url, "kinds": kinds or ["practice", "programme"]},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def subscription(self, subscription_id: str) -> Subscription:
        with self.database.transaction(write=False) as session:
            found = session.get(Subscription, uuid.UUID(subscription_id))
            assert found is not None
            session.expunge(found)
            return found


SETTINGS = {
    "webhook_allowed_hosts": ["127.0.0.1"],
    "webhook_timeout_seconds": 2.0,
    "webhook_retry_base_seconds": 0.05,
    "webhook_retry_cap_seconds": 0.2,
    "webhook_retry_window_seconds": 30.0,
    "webhook_lease_seconds": 30.0,
    "webhook_concurrency": 3,
}


@pytest.fixture
def hooks(database: Database) -> Iterator[Hooks]:
    settings = make_settings(database.settings.database_url, **SETTINGS)
    shared = Database(settings, database.engine)
    with TestClient(create_app(settings, shared), raise_server_exceptions=False) as http:
        yield Hooks(settings, shared, http)


@pytest.fixture
def agency(hooks: Hooks) -> dict[str, str]:
    """A member state's client (UZB): it sees its own records, drafts included."""
    return hooks.headers(client_for_role(hooks.database, Role.member_state))


def practices(database: Database, count: int) -> None:
    for _ in range(count):
        make_record(database, PRACTICES, "UZB")


def event_seqs(database: Database, kind: str = "practice") -> list[int]:
    with database.transaction(write=False) as session:
        return list(
            session.exec(select(Event.seq).where(Event.kind == kind).order_by(col(Event.seq)))
        )


# --- Delivery ---------------------------------------------------------------------------------


def test_deliveries_are_signed_in_order_and_listed(
    hooks: Hooks, agency: dict[str, str], receivers: list[Receiver]
) -> None:
    target = receiver(receivers)
    created = hooks.subscribe(agency, target.url)
    assert created["secret"].startswith("whsec_")
    assert created["status"] == "active"
    practices(hooks.database, 3)
    with hooks.worker() as worker:
        worker.run_once()
    expected = event_seqs(hooks.database)
    assert target.seqs == expected
    for request in target.received:
        assert request.headers["content-type"] == "application/json"
        signature = request.headers["x-recnet-signature"]
        assert signature.startswith(f"t={request.headers['x-recnet-timestamp']},v1=")
        assert verify_signature(created["secret"], signature, request.body)
        assert not verify_signature("whsec_wrong", signature, request.body)
        item = json.loads(request.body)
        assert item["type"] == "upsert"
        assert item["seq"] == request.seq
    assert hooks.subscription(created["id"]).delivered_seq == expected[-1]
    # The secret is kept encrypted, not as given.
    assert created["secret"] not in hooks.subscription(created["id"]).secret

    listed = hooks.http.get(f"/v1/subscriptions/{created['id']}/deliveries", headers=agency)
    assert listed.status_code == 200
    attempts = listed.json()["items"]
    assert sorted(a["seq"] for a in attempts) == expected
    assert {(a["attempt"], a["status_code"], a["error"]) for a in attempts} == {(1, 200, None)}
    # The secret is shown once only.
    shown = hooks.http.get(f"/v1/subscriptions/{created['id']}", headers=agency).json()
    assert "secret" not in shown
    assert shown["delivered_seq"] == expected[-1]


def test_a_subscription_receives_only_its_kinds(
    hooks: Hooks, agency: dict[str, str], receivers: list[Receiver]
) -> None:
    target = receiver(receivers)
    created = hooks.subscribe(agency, target.url, kinds=["programme"])
    make_record(hooks.database, PRACTICES, "UZB")
    make_record(hooks.database, PROGRAMMES, "UZB")
    with hooks.worker() as worker:
        worker.run_once()
    assert target.seqs == event_seqs(hooks.database, "programme")
    assert hooks.subscription(created["id"]).delivered_seq == max(
        event_seqs(hooks.database) + event_seqs(hooks.database, "programme")
    )


def test_a_record_the_subscriber_may_not_see_is_not_delivered(
    hooks: Hooks, receivers: list[Receiver]
) -> None:
    target = receiver(receivers)
    partner = hooks.headers(client_for_role(hooks.database, Role.partner))
    created = hooks.subscribe(partner, target.url)
    make_record(hooks.database, PRACTICES, "UZB", tlp="RED")
    with hooks.worker() as worker:
        worker.run_once()
    assert target.received == []
    assert hooks.subscription(created["id"]).delivered_seq == event_seqs(hooks.database)[-1]


def test_failed_deliveries_are_retried_with_backoff_until_they_succeed(
    hooks: Hooks, agency: dict[str, str], receivers: list[Receiver]
) -> None:
    target = receiver(receivers, plan=[500, 503])
    created = hooks.subscribe(agency, target.url)
    practices(hooks.database, 2)
    first, second = event_seqs(hooks.database)
    with hooks.worker() as worker:
        worker.run_once()
        assert target.seqs == [first]
        state = hooks.subscription(created["id"])
        assert state.attempts == 1
        assert state.next_attempt_at is not None
        assert state.delivered_seq < first
        worker.run_once()  # not due yet: nothing is sent
        assert target.seqs == [first]
        deadline = time.time() + 10
        while len(target.received) < 4 and time.time() < deadline:
            time.sleep(0.05)
            worker.run_once()
    assert target.seqs == [first, first, first, second]
    state = hooks.subscription(created["id"])
    assert state.delivered_seq == second
    assert state.attempts == 0
    assert state.status == "active"
    attempts = hooks.http.get(
        f"/v1/subscriptions/{created['id']}/deliveries", headers=agency
    ).json()["items"]
    log = sorted((a["seq"], a["attempt"], a["status_code"]) for a in attempts)
    assert log == [(first, 1, 500), (first, 2, 503), (first, 3, 200), (second, 1, 200)]
    retried = [a for a in attempts if a["status_code"] in (500, 503)]
    assert all(a["next_retry_at"] is not None for a in retried)


def test_retries_stop_after_the_window_and_the_subscription_is_failing(
    hooks: Hooks, agency: dict[str, str], receivers: list[Receiver]
) -> None:
    target = receiver(receivers, default=500)
    created = hooks.subscribe(agency, target.url)
    practices(hooks.database, 1)
    with hooks.worker(webhook_retry_window_seconds=0.3) as worker:
        deadline = time.time() + 10
        while hooks.subscription(created["id"]).status == "active" and time.time() < deadline:
            worker.run_once()
            time.sleep(0.05)
        assert hooks.subscription(created["id"]).status == "failing"
        sent = len(target.received)
        assert sent >= 2
        worker.run_once()
        assert len(target.received) == sent
    shown = hooks.http.get(f"/v1/subscriptions/{created['id']}", headers=agency).json()
    assert shown["status"] == "failing"


class Crash(Exception):
    pass


def test_nothing_is_lost_when_a_worker_stops_mid_delivery(
    hooks: Hooks, agency: dict[str, str], receivers: list[Receiver]
) -> None:
    target = receiver(receivers)
    created = hooks.subscribe(agency, target.url)
    practices(hooks.database, 5)
    expected = event_seqs(hooks.database)
    delivered: list[int] = []

    def crash_on_third(_subscription: Subscription, item: dict[str, Any]) -> None:
        delivered.append(item["seq"])
        if len(delivered) == 3:
            raise Crash("stopped after the receiver answered, before the cursor was saved")

    with hooks.worker() as first:
        first.after_post = crash_on_third
        with pytest.raises(Crash):
            first.deliver(uuid.UUID(created["id"]))
    assert target.seqs == expected[:3]
    assert hooks.subscription(created["id"]).delivered_seq == expected[1]

    with hooks.worker() as second:
        second.run_once()
    # At least once: the third event again (a duplicate), and nothing missing.
    assert target.seqs == expected[:3] + expected[2:]
    assert set(target.seqs) == set(expected)
    assert hooks.subscription(created["id"]).delivered_seq == expected[-1]


@pytest.mark.slow
def test_nothing_is_lost_when_a_worker_process_is_killed_and_restarted(
    hooks: Hooks, agency: dict[str, str], receivers: list[Receiver]
) -> None:
    """`recnet worker` as a real process, SIGKILLed mid-delivery, then started again."""
    import os
    import signal
    import subprocess
    import sys

    target = receiver(receivers)
    target.delay = 0.3
    hooks.subscribe(agency, target.url)
    practices(hooks.database, 8)
    expected = event_seqs(hooks.database)
    env = {
        **os.environ,
        "RECNET_DATABASE_URL": hooks.settings.database_url,
        "RECNET_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "RECNET_WEBHOOK_LEASE_SECONDS": "2",
        "RECNET_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "recnet", "worker", "--interval", "0.2"]

    def wait_for(condition: Any, seconds: float) -> None:
        deadline = time.time() + seconds
        while not condition() and time.time() < deadline:
            time.sleep(0.1)

    first = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(target.received) >= 3, 30)
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait(timeout=10)
    received_before = len(target.received)
    assert 3 <= received_before < len(expected), "the kill came mid-delivery"

    second = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: set(expected) <= set(target.seqs), 40)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=20)
    # At least once: everything arrived, perhaps one event twice, never out of order.
    assert set(target.seqs) == set(expected)
    first_arrivals = [seq for i, seq in enumerate(target.seqs) if seq not in target.seqs[:i]]
    assert first_arrivals == expected


def test_a_lease_keeps_a_second_worker_off_a_subscription(
    hooks: Hooks, agency: dict[str, str], receivers: list[Receiver]
) -> None:
    target = receiver(receivers)
    created = hooks.subscribe(agency, target.url)
    practices(hooks.database, 2)
    with hooks.worker() as holder, hooks.worker() as other:
        assert holder._claim(uuid.UUID(created["id"]))  # the first worker holds it (then "dies")
        assert not other._claim(uuid.UUID(created["id"]))
        other.run_once()
        assert target.received == []
        # The lease runs out: another worker takes over and delivers everything.
        with hooks.database.transaction() as session:
            session.execute(
                update(Subscription)
                .where(col(Subscription.id) == uuid.UUID(created["id"]))
                .values(locked_until=utcnow() - timedelta(seconds=1))
            )
        other.run_once()
    assert target.seqs == event_seqs(hooks.database)


def test_a_receiver_that_never_answers_does_not_hold_up_another(
    hooks: Hooks, agency: dict[str, str], receivers: list[Receiver], silent_url: str
) -> None:
    target = receiver(receivers)
    stuck = hooks.subscribe(agency, silent_url)
    hooks.subscribe(agency, target.url)
    practices(hooks.database, 3)
    with hooks.worker(webhook_timeout_seconds=3.0) as worker:
        started = time.time()
        worker.run_once()
        elapsed = time.time() - started
    assert target.seqs == event_seqs(hooks.database)
    # The healthy receiver had everything long before the silent one timed out.
    assert max(r.at for r in target.received) - started < 2.0
    assert 3.0 <= elapsed < 8.0
    attempts = hooks.http.get(f"/v1/subscriptions/{stuck['id']}/deliveries", headers=agency).json()[
        "items"
    ]
    assert [(a["attempt"], a["status_code"], a["error"]) for a in attempts] == [
        (1, None, "timeout")
    ]


def test_a_disabled_clients_subscription_stops(hooks: Hooks, receivers: list[Receiver]) -> None:
    target = receiver(receivers)
    credentials = client_for_role(hooks.database, Role.member_state)
    created = hooks.subscribe(hooks.headers(credentials), target.url)
    with hooks.database.transaction() as session:
        clients.disable_client(session, credentials.client_id)
    practices(hooks.database, 1)
    with hooks.worker() as worker:
        worker.run_once()
    assert target.received == []
    assert hooks.subscription(created["id"]).status == "disabled"


# --- Callback URLs ----------------------------------------------------------------------------


def public_dns(monkeypatch: pytest.MonkeyPatch, *addresses: str) -> None:
    def fake(host: str, port: object, *args: object, **kwargs: object) -> list[Any]:
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 443))
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.org/x", "https"),
        ("ftp://hooks.example.org/x", "https"),
        ("https://10.1.2.3/x", "private"),
        ("https://192.168.0.10/x", "private"),
        ("https://127.0.0.1:8443/x", "private"),
        ("https://[::1]/x", "private"),
        ("https://169.254.169.254/latest/meta-data", "private"),
        ("https://[fe80::1]/x", "private"),
        ("https://localhost/x", "private"),
        ("https://user:pw@hooks.example.org/x", "credentials"),
    ],
)
def test_callback_urls_must_be_https_on_public_addresses(url: str, reason: str) -> None:
    settings = Settings.model_construct(webhook_allowed_hosts=[])
    with pytest.raises(ValidationProblem) as refused:
        webhooks.check_callback_url(url, settings)
    assert reason in refused.value.detail


def test_every_resolved_address_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings.model_construct(webhook_allowed_hosts=[])
    public_dns(monkeypatch, "93.184.215.14")
    assert webhooks.check_callback_url("https://hooks.example.org/x", settings)
    public_dns(monkeypatch, "93.184.215.14", "10.0.0.7")
    with pytest.raises(ValidationProblem):
        webhooks.check_callback_url("https://hooks.example.org/x", settings)
    public_dns(monkeypatch, "::ffff:127.0.0.1")
    with pytest.raises(ValidationProblem):
        webhooks.check_callback_url("https://hooks.example.org/x", settings)


def test_allowed_hosts_may_be_private_and_plain_http() -> None:
    settings = Settings.model_construct(webhook_allowed_hosts=["127.0.0.1"])
    assert webhooks.check_callback_url("http://127.0.0.1:9/x", settings)
    with pytest.raises(ValidationProblem):
        webhooks.check_callback_url("http://127.0.0.2:9/x", settings)


def test_the_api_refuses_a_private_or_plain_http_callback(
    hooks: Hooks, agency: dict[str, str]
) -> None:
    for url in ("https://10.0.0.1/hook", "http://hooks.example.org/hook", "https://localhost/"):
        response = hooks.http.post(
            "/v1/subscriptions", json={"callback_url": url, "kinds": ["practice"]}, headers=agency
        )
        assert response.status_code == 422, (url, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    unknown_kind = hooks.http.post(
        "/v1/subscriptions",
        json={"callback_url": "http://127.0.0.1:9/x", "kinds": ["audit"]},
        headers=agency,
    )
    assert unknown_kind.status_code == 422


def test_the_address_is_checked_again_at_delivery_time(
    hooks: Hooks, agency: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    public_dns(monkeypatch, "93.184.215.14")
    created = hooks.subscribe(agency, "https://hooks.example.org/x")
    practices(hooks.database, 1)
    public_dns(monkeypatch, "10.0.0.7")  # the name now points inside
    with hooks.worker() as worker:
        worker.run_once()
    attempts = hooks.http.get(
        f"/v1/subscriptions/{created['id']}/deliveries", headers=agency
    ).json()["items"]
    assert len(attempts) == 1
    assert attempts[0]["status_code"] is None
    assert attempts[0]["error"].startswith("refused")


def test_a_delivery_connects_to_the_address_that_was_checked(
    hooks: Hooks, agency: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name answers a public address to the check, then a private one the
    moment the connection is made. The delivery connects to the checked address, with the name
    kept in the Host header and the TLS server name (the certificate is checked against it)."""
    answers = {"hooks.example.org": "93.184.215.14"}

    def dns(host: str, port: object, *args: object, **kwargs: object) -> list[Any]:
        address = host if host.replace(".", "").isdigit() else answers[host]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", dns)
    created = hooks.subscribe(agency, "https://hooks.example.org:8443/x")
    practices(hooks.database, 1)
    connected: list[tuple[str, str, object]] = []

    def network(request: httpx.Request) -> httpx.Response:
        answers["hooks.example.org"] = "10.0.0.7"  # rebound, after the check
        # What a connection does with the URL's host: resolve it, then connect there.
        (info,) = socket.getaddrinfo(request.url.host, request.url.port)
        connected.append(
            (str(info[4][0]), request.headers["host"], request.extensions.get("sni_hostname"))
        )
        return httpx.Response(204)

    transport = httpx.MockTransport(network)
    with Worker(hooks.database, hooks.settings, transport=transport) as worker:
        worker.run_once()
    assert connected == [("93.184.215.14", "hooks.example.org:8443", "hooks.example.org")]
    shown = hooks.http.get(f"/v1/subscriptions/{created['id']}", headers=agency).json()
    assert shown["delivered_seq"] == event_seqs(hooks.database)[-1]


# --- Ownership --------------------------------------------------------------------------------


def test_another_clients_subscription_is_not_found(hooks: Hooks, receivers: list[Receiver]) -> None:
    target = receiver(receivers)
    owner = hooks.headers(client_for_role(hooks.database, Role.partner))
    stranger = hooks.headers(make_client(hooks.database, "OTHERP", kind=OrganisationKind.partner))
    created = hooks.subscribe(owner, target.url)
    path = f"/v1/subscriptions/{created['id']}"
    for method, url in (("GET", path), ("GET", f"{path}/deliveries"), ("DELETE", path)):
        assert hooks.http.request(method, url, headers=stranger).status_code == 404
    assert hooks.http.get("/v1/subscriptions", headers=stranger).json()["items"] == []
    mine = hooks.http.get("/v1/subscriptions", headers=owner).json()["items"]
    assert [s["id"] for s in mine] == [created["id"]]

    assert hooks.http.delete(path, headers=owner).status_code == 204
    assert hooks.http.get(path, headers=owner).status_code == 404


def test_researchers_cannot_subscribe(hooks: Hooks) -> None:
    researcher = hooks.headers(client_for_role(hooks.database, Role.researcher))
    response = hooks.http.post(
        "/v1/subscriptions",
        json={"callback_url": "http://127.0.0.1:9/x", "kinds": ["practice"]},
        headers=researcher,
    )
    assert response.status_code == 403


def test_the_worker_command_delivers_one_round(
    hooks: Hooks,
    agency: dict[str, str],
    receivers: list[Receiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from recnet.cli import serve as cli

    target = receiver(receivers)
    hooks.subscribe(agency, target.url)
    practices(hooks.database, 2)
    monkeypatch.setattr(cli, "_settings", lambda: hooks.settings)
    result = CliRunner().invoke(cli.app, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert target.seqs == event_seqs(hooks.database)


@pytest.mark.slow
def test_recnet_serve_delivers_webhooks_in_process_on_the_embedded_database(
    tmp_path: Path, receivers: list[Receiver]
) -> None:
    """No separate worker: `recnet serve` on SQLite delivers by itself, signed."""
    import json as jsonlib

    from tests.factories import practice_body
    from tests.served import access_token, cli_client, database_url, served

    hook = receiver(receivers)
    with served(tmp_path, RECNET_WEBHOOK_ALLOWED_HOSTS="127.0.0.1") as (base, _):
        scopes = "practices:write subscriptions:write"
        token = access_token(base, cli_client(database_url(tmp_path), "UZB", scopes))
        headers = {"Authorization": f"Bearer {token}"}
        subscription = httpx.post(
            f"{base}/v1/subscriptions",
            json={"callback_url": hook.url, "kinds": ["practice"]},
            headers=headers,
        )
        assert subscription.status_code == 201, subscription.text
        record = httpx.post(f"{base}/v1/practices", json=practice_body(), headers=headers).json()
        deadline = time.time() + 20
        while not hook.received and time.time() < deadline:
            time.sleep(0.2)
    assert hook.received, "the in-process worker delivered nothing"
    delivered = hook.received[0]
    assert jsonlib.loads(delivered.body)["record_id"] == record["id"]
    secret = subscription.json()["secret"]
    assert verify_signature(secret, delivered.headers["x-recnet-signature"], delivered.body)


def test_a_replayed_subscription_answer_never_carries_the_stored_secret(
    hooks: Hooks, agency: dict[str, str], db_url: str
) -> None:
    """The signing secret is shown once, marked no-store, and never kept for Idempotency-Key
    replays: the retry gets the same subscription without it."""
    headers = {**agency, "Idempotency-Key": "subscribe-1"}
    body = {"callback_url": "http://127.0.0.1:9/hook", "kinds": ["practice"]}
    first = hooks.http.post("/v1/subscriptions", json=body, headers=headers)
    assert first.status_code == 201, first.text
    secret = first.json()["secret"]
    assert secret
    assert "no-store" in first.headers["cache-control"]

    retry = hooks.http.post("/v1/subscriptions", json=body, headers=headers)
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["id"] == first.json()["id"]
    assert "secret" not in retry.json()
    assert "no-store" in retry.headers["cache-control"]
    with owner_database(db_url).transaction(write=False) as session:
        kept = session.exec(select(IdempotencyKey)).all()
    assert len(kept) == 1
    assert secret.encode() not in bytes(kept[0].body)
