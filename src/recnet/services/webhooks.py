"""Webhooks: subscriptions to the change feed, pushed to the subscriber's callback URL.

Each subscription reads the change feed (``services.feeds``) as its client would, from its own
cursor, and POSTs every item, signed, to its callback URL. Delivery is at least once: the cursor
moves past an event only after the receiver answered 2xx, so a worker that stops mid-delivery
delivers again what it had not recorded (receivers de-duplicate on ``X-Recnet-Event``).

A failed delivery is retried with exponential backoff for a bounded time, after which the
subscription is marked ``failing`` and stops. Workers take a subscription with a lease (a
conditional UPDATE of ``locked_by``/``locked_until``), so two workers never deliver the same
subscription at once, and work on subscriptions concurrently, each request bounded by a short
timeout, so one slow receiver holds up nobody else.

Signing secrets are kept encrypted with the server secret (AES-GCM, key derived from
``RECNET_SECRET_KEY``, the subscription id as associated data): they are needed in clear to
sign, so they cannot be hashed; changing the server secret makes them unreadable (subscriptions
must then be re-created).

Callback URLs are https, and never resolve to private, loopback, link-local or otherwise
non-public addresses, unless their host is listed in ``RECNET_WEBHOOK_ALLOWED_HOSTS``. The check
runs at subscription and again before every delivery (against DNS changes); redirects are not
followed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import and_, func, or_, update
from sqlmodel import Session, col, delete, select

from recnet.auth.principal import Principal, Role
from recnet.auth.scopes import ALLOWED, Scope
from recnet.clock import utcnow
from recnet.config import Settings
from recnet.db import Database, set_tenant
from recnet.errors import NotFound, ValidationProblem
from recnet.models import Delivery, Event, Subscription
from recnet.repositories import clients
from recnet.schemas.vocabularies import OrganisationKind
from recnet.services import feeds

log = logging.getLogger("recnet.webhooks")

ACTIVE, FAILING, DISABLED = "active", "failing", "disabled"
MAX_SUBSCRIPTIONS_PER_CLIENT = 20
USER_AGENT = "recnet-webhooks/1"


# --- Callback URLs ---------------------------------------------------------------------------


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_callback_url(url: str, settings: Settings) -> str:
    """``url`` if it may receive webhooks; ValidationProblem (422) saying why not otherwise."""
    checked_target(url, settings)
    return url


@dataclass(frozen=True)
class Target:
    """Where a delivery connects: ``url`` (with the checked address in place of the host name),
    the Host header and the TLS server name (SNI) that keep the name for the receiver."""

    url: str
    host_header: str | None = None
    server_name: str | None = None


def checked_target(url: str, settings: Settings) -> Target:
    """The callback, checked, and pinned to an address that was checked: connecting by name
    would resolve it again, and a name that answers a public address to the check and a private
    one to the connection (DNS rebinding) would reach inside."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationProblem("callback_url is not a valid URL.") from None
    host = (parts.hostname or "").lower()
    if not host or parts.scheme not in ("https", "http"):
        raise ValidationProblem("callback_url must be an absolute https URL.")
    if parts.username is not None or parts.password is not None:
        raise ValidationProblem("callback_url must not carry credentials.")
    allowed = host in {h.lower() for h in settings.webhook_allowed_hosts}
    if allowed:
        return Target(url)
    if parts.scheme != "https":
        raise ValidationProblem("callback_url must use https.")
    try:
        found = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise ValidationProblem(f"callback_url host {host} cannot be resolved.") from None
    addresses = [str(info[4][0]) for info in found]
    if not addresses or not all(_public(a) for a in addresses):
        raise ValidationProblem(
            f"callback_url host {host} resolves to a private, loopback or link-local address."
        )
    address = addresses[0].split("%", 1)[0]
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{port}" if port else literal
    return Target(
        urlunsplit(parts._replace(netloc=netloc)),
        host_header=parts.netloc.rpartition("@")[2],
        server_name=host,
    )


# --- Secrets and signatures ------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _key(settings: Settings) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"recnet webhook secrets v1"
    ).derive(settings.secret_key.encode())


def encrypt_secret(settings: Settings, subscription_id: uuid.UUID, secret: str) -> str:
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_key(settings)).encrypt(nonce, secret.encode(), subscription_id.bytes)
    return "v1:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt_secret(settings: Settings, subscription_id: uuid.UUID, stored: str) -> str:
    version, _, data = stored.partition(":")
    if version != "v1":
        raise ValueError("unknown secret format")
    raw = base64.urlsafe_b64decode(data.encode())
    return AESGCM(_key(settings)).decrypt(raw[:12], raw[12:], subscription_id.bytes).decode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Recnet-Signature`` value: ``t=<timestamp>,v1=<hex HMAC-SHA256>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(secret: str, header: str, body: bytes) -> bool:
    """What a receiver does (used by the tests): recompute and compare in constant time."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), header)


# --- Subscriptions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    subscription: Subscription
    secret: str


def create(
    session: Session,
    settings: Settings,
    principal: Principal,
    *,
    callback_url: str,
    kinds: Sequence[str],
    description: str | None,
) -> Created:
    """A subscription of the caller's client; it receives the events after this moment."""
    assert principal.client_id is not None
    check_callback_url(callback_url, settings)
    unknown = set(kinds) - set(feeds.KINDS)
    if unknown or not kinds:
        raise ValidationProblem(f"kinds are one or more of {', '.join(feeds.KINDS)}.")
    count = session.exec(
        select(func.count())
        .select_from(Subscription)
        .where(Subscription.client_id == principal.client_id)
    ).one()
    if count >= MAX_SUBSCRIPTIONS_PER_CLIENT:
        raise ValidationProblem(
            f"A client holds at most {MAX_SUBSCRIPTIONS_PER_CLIENT} subscriptions."
        )
    head = session.exec(select(func.max(Event.seq))).one() or 0
    secret = new_secret()
    subscription_id = uuid.uuid4()
    subscription = Subscription(
        id=subscription_id,
        client_id=principal.client_id,
        callback_url=callback_url,
        kinds=[k for k in feeds.KINDS if k in kinds],
        description=description,
        secret=encrypt_secret(settings, subscription_id, secret),
        delivered_seq=head,
    )
    session.add(subscription)
    session.flush()
    return Created(subscription, secret)


def list_for(session: Session, principal: Principal) -> Sequence[Subscription]:
    return session.exec(
        select(Subscription)
        .where(Subscription.client_id == principal.client_id)
        .order_by(col(Subscription.created_at), col(Subscription.id))
    ).all()


def get_for(session: Session, principal: Principal, subscription_id: uuid.UUID) -> Subscription:
    """The caller's subscription; another client's is as unknown as a missing one."""
    subscription = session.get(Subscription, subscription_id)
    if subscription is None or subscription.client_id != principal.client_id:
        raise NotFound(f"No subscription {subscription_id}.")
    return subscription


def delete_for(session: Session, principal: Principal, subscription_id: uuid.UUID) -> None:
    subscription = get_for(session, principal, subscription_id)
    session.exec(delete(Delivery).where(col(Delivery.subscription_id) == subscription.id))
    session.delete(subscription)
    session.flush()


def deliveries_for(
    session: Session, principal: Principal, subscription_id: uuid.UUID, limit: int
) -> Sequence[Delivery]:
    subscription = get_for(session, principal, subscription_id)
    return session.exec(
        select(Delivery)
        .where(Delivery.subscription_id == subscription.id)
        .order_by(col(Delivery.attempted_at).desc(), col(Delivery.seq).desc())
        .limit(limit)
    ).all()


def principal_for(session: Session, client_id: str) -> Principal | None:
    """The client as it is now, as ``auth.principal.resolve`` would see it (without a token);
    None when it may no longer hold a subscription (unknown, disabled, scope withdrawn)."""
    row = clients.find_client(session, client_id)
    if row is None:
        return None
    client, organisation = row
    if client.disabled_at is not None:
        return None
    kind = OrganisationKind(organisation.kind)
    scopes = frozenset(set(client.scopes) & {s.value for s in ALLOWED[kind]})
    if Scope.subscriptions_write.value not in scopes:
        return None
    return Principal(
        role=Role(kind.value),
        client_id=client.client_id,
        organisation=organisation.code,
        tenant=organisation.tenant,
        scopes=scopes,
    )


# --- Delivery --------------------------------------------------------------------------------


def backoff(settings: Settings, attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failure in a row."""
    delay = settings.webhook_retry_base_seconds * 2.0 ** min(max(attempts - 1, 0), 60)
    return float(min(delay, settings.webhook_retry_cap_seconds))


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def encode(item: dict[str, Any]) -> bytes:
    return json.dumps(item, separators=(",", ":"), ensure_ascii=False, default=str).encode()


class Worker:
    """Delivers due subscriptions; ``run_once`` for one round, ``run`` for a loop."""

    def __init__(
        self,
        database: Database,
        settings: Settings | None = None,
        *,
        name: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.database = database
        self.settings = settings or database.settings
        self.name = name or f"{socket.gethostname()[:40]}-{uuid.uuid4().hex[:12]}"
        self._http = httpx.Client(
            timeout=self.settings.webhook_timeout_seconds,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
            transport=transport,
        )
        self._pool = ThreadPoolExecutor(
            max_workers=self.settings.webhook_concurrency, thread_name_prefix="recnet-webhook"
        )
        self._running: dict[uuid.UUID, Future[None]] = {}
        self._lock = threading.Lock()
        # A hook for tests: called after a 2xx, before the cursor is saved.
        self.after_post: Callable[[Subscription, dict[str, Any]], None] | None = None

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._http.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # The loop.

    def due(self) -> list[uuid.UUID]:
        now = utcnow()
        with self.database.transaction(write=False) as session:
            return list(
                session.exec(
                    select(Subscription.id)
                    .where(
                        Subscription.status == ACTIVE,
                        or_(
                            col(Subscription.next_attempt_at).is_(None),
                            col(Subscription.next_attempt_at) <= now,
                        ),
                        or_(
                            col(Subscription.locked_until).is_(None),
                            col(Subscription.locked_until) < now,
                        ),
                    )
                    .order_by(col(Subscription.next_attempt_at), col(Subscription.id))
                )
            )

    def dispatch(self) -> list[Future[None]]:
        """Start every due subscription not already in hand; return what was started."""
        started = []
        with self._lock:
            self._running = {k: f for k, f in self._running.items() if not f.done()}
            for subscription_id in self.due():
                if subscription_id in self._running:
                    continue
                future = self._pool.submit(self._safely, subscription_id)
                self._running[subscription_id] = future
                started.append(future)
        return started

    def run_once(self) -> None:
        """One round: every due subscription, concurrently, until each is caught up, fails or
        has had its share of the round."""
        for future in self.dispatch():
            future.result()

    def run(self, interval: float, stop: threading.Event | None = None) -> None:
        """Dispatch due subscriptions every ``interval`` seconds without waiting for slow ones."""
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                self.dispatch()
            except Exception:
                log.exception("webhook dispatch failed")
            stop.wait(interval)

    # One subscription.

    def _safely(self, subscription_id: uuid.UUID) -> None:
        try:
            self.deliver(subscription_id)
        except Exception:
            log.exception("webhook delivery failed", extra={"subscription": str(subscription_id)})

    def _claim(self, subscription_id: uuid.UUID) -> bool:
        now = utcnow()
        with self.database.transaction() as session:
            result = session.execute(
                update(Subscription)
                .where(
                    col(Subscription.id) == subscription_id,
                    col(Subscription.status) == ACTIVE,
                    or_(
                        col(Subscription.locked_until).is_(None),
                        col(Subscription.locked_until) < now,
                    ),
                )
                .values(
                    locked_by=self.name,
                    locked_until=now + timedelta(seconds=self.settings.webhook_lease_seconds),
                )
            )
            return bool(getattr(result, "rowcount", 0) == 1)

    def _mine(self, subscription_id: uuid.UUID) -> Any:
        return and_(
            col(Subscription.id) == subscription_id, col(Subscription.locked_by) == self.name
        )

    def _update(self, subscription_id: uuid.UUID, **values: Any) -> bool:
        """Change the subscription if this worker still holds it (renewing the lease)."""
        lease = utcnow() + timedelta(seconds=self.settings.webhook_lease_seconds)
        with self.database.transaction() as session:
            result = session.execute(
                update(Subscription)
                .where(self._mine(subscription_id))
                .values(locked_until=lease, **values)
            )
            return bool(getattr(result, "rowcount", 0) == 1)

    def _release(self, subscription_id: uuid.UUID, **values: Any) -> None:
        with self.database.transaction() as session:
            session.execute(
                update(Subscription)
                .where(self._mine(subscription_id))
                .values(locked_by=None, locked_until=None, **values)
            )

    def deliver(self, subscription_id: uuid.UUID) -> None:
        if not self._claim(subscription_id):
            return
        try:
            self._deliver(subscription_id)
        finally:
            self._release(subscription_id)

    def _deliver(self, subscription_id: uuid.UUID) -> None:
        with self.database.transaction(write=False) as session:
            subscription = session.get(Subscription, subscription_id)
            if subscription is None:
                return
            session.expunge(subscription)
            principal = principal_for(session, subscription.client_id)
        if principal is None:
            self._update(subscription_id, status=DISABLED)
            return
        secret = decrypt_secret(self.settings, subscription.id, subscription.secret)
        cursor = subscription.delivered_seq
        budget = self.settings.webhook_round_items
        while budget > 0:
            with self.database.transaction(write=False) as session:
                set_tenant(session, principal.tenant)
                page = feeds.page(
                    session,
                    principal,
                    after=cursor,
                    limit=min(budget, feeds.MAX_LIMIT),
                    kinds=subscription.kinds,
                )
            for item in page.items:
                outcome = self._post(subscription, secret, item)
                if outcome.ok and self.after_post is not None:
                    self.after_post(subscription, item)
                if not self._record(subscription, item["seq"], outcome):
                    return
                cursor = int(item["seq"])
                budget -= 1
            # Events the subscriber may not see, after the last item, are passed over too.
            if page.last_seq > cursor:
                if not self._update(subscription_id, delivered_seq=page.last_seq):
                    return
                cursor = page.last_seq
            if not page.has_more:
                return

    def _post(self, subscription: Subscription, secret: str, item: dict[str, Any]) -> Outcome:
        try:
            target = checked_target(subscription.callback_url, self.settings)
        except ValidationProblem as exc:
            return Outcome(None, f"refused: {exc.detail}"[:500])
        body = encode(item)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "X-Recnet-Event": str(item["seq"]),
            "X-Recnet-Timestamp": str(timestamp),
            "X-Recnet-Signature": signature(secret, timestamp, body),
            "X-Recnet-Subscription": str(subscription.id),
        }
        try:
            if target.host_header is not None:
                headers["Host"] = target.host_header
            extensions = {"sni_hostname": target.server_name} if target.server_name else None
            response = self._http.post(
                target.url, content=body, headers=headers, extensions=extensions
            )
        except httpx.TimeoutException:
            return Outcome(None, "timeout")
        except httpx.HTTPError as exc:
            return Outcome(None, f"{type(exc).__name__}: {exc}"[:500])
        return Outcome(response.status_code, None)

    def _record(self, subscription: Subscription, seq: int, outcome: Outcome) -> bool:
        """Log the attempt and move the subscription on; False when delivery must stop."""
        now = utcnow()
        with self.database.transaction() as session:
            current = session.get(Subscription, subscription.id)
            if current is None or current.locked_by != self.name:
                return False
            attempt = current.attempts + 1
            next_retry: datetime | None = None
            if outcome.ok:
                values: dict[str, Any] = {
                    "delivered_seq": max(seq, current.delivered_seq),
                    "attempts": 0,
                    "failing_since": None,
                    "next_attempt_at": None,
                }
            else:
                since = current.failing_since or now
                exhausted = (now - since).total_seconds() >= (
                    self.settings.webhook_retry_window_seconds
                )
                if not exhausted:
                    next_retry = now + timedelta(seconds=backoff(self.settings, attempt))
                values = {
                    "attempts": attempt,
                    "failing_since": since,
                    "next_attempt_at": next_retry,
                    "status": FAILING if exhausted else ACTIVE,
                }
            session.add(
                Delivery(
                    subscription_id=subscription.id,
                    seq=seq,
                    attempt=attempt,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    attempted_at=now,
                    next_retry_at=next_retry,
                )
            )
            lease = now + timedelta(seconds=self.settings.webhook_lease_seconds)
            session.execute(
                update(Subscription)
                .where(self._mine(subscription.id))
                .values(locked_until=lease, **values)
            )
        return outcome.ok
