"""Webhook delivery: the long-running loop that pushes the change feed to subscribers.

Each subscription reads the change feed (``services.feeds``) as its client would, from its own
cursor, and POSTs every item, signed, to its callback URL. Delivery is at least once: the cursor
moves past an event only after the receiver answered 2xx, so a worker that stops mid-delivery
delivers again what it had not recorded (receivers de-duplicate on ``X-Recnet-Event``).

A failed delivery is retried with exponential backoff for a bounded time, after which the
subscription is marked ``failing`` and stops. Workers take a subscription with a lease (a
conditional UPDATE of ``locked_by``/``locked_until``), so two workers never deliver the same
subscription at once, and work on subscriptions concurrently, each request bounded by a short
timeout, so one slow receiver holds up nobody else.

The callback is checked again before every delivery (against DNS changes) and the connection is
pinned to the checked address; redirects are not followed. Subscriptions themselves (create,
list, delete, the address rules) are ``services.webhooks``; signing secrets ``auth.secrets``.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import and_, or_, update
from sqlmodel import col, select

from recnet.auth.secrets import decrypt_webhook_secret, signature
from recnet.clock import utcnow
from recnet.config import Settings
from recnet.db import Database, set_tenant
from recnet.errors import ValidationProblem
from recnet.models import Delivery, Subscription
from recnet.schemas.feeds import ChangeItem
from recnet.services import feeds
from recnet.services.webhooks import ACTIVE, DISABLED, FAILING, checked_target, principal_for

log = logging.getLogger("recnet.webhooks")

USER_AGENT = "recnet-webhooks/1"


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


def encode(item: ChangeItem) -> bytes:
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
        self.after_post: Callable[[Subscription, ChangeItem], None] | None = None

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
        secret = decrypt_webhook_secret(self.settings, subscription.id, subscription.secret)
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

    def _post(self, subscription: Subscription, secret: str, item: ChangeItem) -> Outcome:
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
