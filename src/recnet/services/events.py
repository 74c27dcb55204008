"""The append-only event log: appending, hashing, paging and verifying the chain.

Appends are serialised (an advisory transaction lock on PostgreSQL; the write lock that every
writing transaction takes first on SQLite), so the sequence number is assigned in commit order: a
reader following the sequence never skips an event that commits later with a smaller number.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from recnet.auth.principal import Principal
from recnet.clock import utcnow
from recnet.errors import ValidationProblem
from recnet.models import Event

GENESIS = "0" * 64
# The kind of the event an import appends (records' events carry the record's kind).
STATISTICS_KIND = "statistics"
# Arbitrary, fixed: the advisory lock that serialises appends on PostgreSQL.
_APPEND_LOCK = 7_353_842_019


def _canonical(event: Event) -> bytes:
    fields: dict[str, Any] = {
        "seq": event.seq,
        "occurred_at": event.occurred_at.isoformat(),
        "actor_client": event.actor_client,
        "actor_organisation": event.actor_organisation,
        "tenant": event.tenant,
        "kind": event.kind,
        "record_id": str(event.record_id) if event.record_id else None,
        "version": event.version,
        "action": event.action,
        "tlp": event.tlp,
        "status": event.status,
        "payload": event.payload,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(event: Event) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def append(
    session: Session,
    actor: Principal,
    *,
    kind: str,
    action: str,
    tenant: str | None,
    payload: dict[str, Any],
    record_id: uuid.UUID | None = None,
    version: int | None = None,
    tlp: str | None = None,
    status: str | None = None,
) -> Event:
    """Append one event in the caller's transaction; it commits (or not) with the change."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK})
    last = session.exec(
        select(Event.seq, Event.hash).order_by(col(Event.seq).desc()).limit(1)
    ).first()
    event = Event(
        seq=(last[0] + 1) if last else 1,
        occurred_at=utcnow(),
        actor_client=actor.client_id,
        actor_organisation=actor.organisation,
        tenant=tenant,
        kind=kind,
        record_id=record_id,
        version=version,
        action=action,
        tlp=tlp,
        status=status,
        # Stored exactly as hashed: JSON round-trips it unchanged.
        payload=json.loads(json.dumps(payload, default=str)),
        prev_hash=last[1] if last else GENESIS,
        hash="",
    )
    event.hash = event_hash(event)
    session.add(event)
    session.flush()
    return event


# Sequence numbers are 64-bit on both databases: a larger one from a client is refused before
# it reaches a query (where it would overflow the bound parameter).
MAX_SEQ = 2**63 - 1


def parse_seq(value: str) -> int:
    """A sequence number a client sent back (a cursor, ``after``), or ValidationProblem."""
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_SEQ:
        raise ValidationProblem("The cursor is not one this service gave out.")
    return int(value)


def head(session: Session) -> int:
    """The sequence number of the newest event (0 for an empty log)."""
    last = session.exec(select(Event.seq).order_by(col(Event.seq).desc()).limit(1)).first()
    return last or 0


def page(session: Session, *, after: int, limit: int) -> list[Event]:
    query = select(Event).where(Event.seq > after).order_by(col(Event.seq)).limit(limit)
    return list(session.exec(query))


def for_record(session: Session, record_id: uuid.UUID) -> list[Event]:
    query = select(Event).where(Event.record_id == record_id).order_by(col(Event.seq))
    return list(session.exec(query))


@dataclass(frozen=True)
class Break:
    """The first place the chain does not hold."""

    seq: int
    reason: str


def verify(session: Session, batch: int = 1000) -> tuple[int, Break | None]:
    """Walk the whole chain; (events checked, first break or None)."""
    expected_seq, prev_hash, checked = 1, GENESIS, 0
    for event in _all(session, batch):
        if event.seq != expected_seq:
            return checked, Break(
                expected_seq, f"event {expected_seq} is missing (next is {event.seq})"
            )
        if event.prev_hash != prev_hash:
            return checked, Break(
                event.seq, "its link to the previous event is broken (reordered or replaced)"
            )
        if event_hash(event) != event.hash:
            return checked, Break(event.seq, "its content was altered after it was written")
        prev_hash, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    return checked, None


def _all(session: Session, batch: int) -> Iterator[Event]:
    after = 0
    while rows := page(session, after=after, limit=batch):
        yield from rows
        after = rows[-1].seq
