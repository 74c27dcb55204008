"""The change feed: the event log as one reader may see it.

Each event is projected for the reader through the one visibility rule:
- a record event the reader may see is an ``upsert`` carrying the record as it then was;
- a record event the reader may not see is a ``removal`` if the record was visible to the reader
  at its previous event (it was withdrawn from the reader's sight: re-marked, say), and nothing at
  all otherwise, so the feed never tells a reader that a record it could not see exists;
- a statistics import carries what changed, with the figures the reader may see: exact for the
  owning state and the secretariat, the published (disclosure-controlled) ones for everyone else.

A follower that applies upserts and removals in order ends with exactly what the lists show it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Text, Uuid, and_, any_, bindparam, case, cast, func, or_, tuple_
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, col

from recnet.auth.principal import Principal
from recnet.auth.visibility import may_read, readable, sees_exact_statistics
from recnet.models import CubeCell, Event
from recnet.schemas.feeds import (
    FEED_KINDS,
    ChangeItem,
    RemovalChange,
    StatisticsChange,
    UpsertChange,
)
from recnet.schemas.vocabularies import RECORD_KINDS
from recnet.services import events

MAX_LIMIT = 500
# Events looked at per request, visible or not: bounds the work of one page.
MAX_SCAN = 2000
# Events are read in batches of this many, so a page stops reading as soon as it is full.
_BATCH = 500
_KEY_LOOKUP_LIMIT = 1000


@dataclass(frozen=True)
class FeedPage:
    items: list[ChangeItem]
    last_seq: int
    has_more: bool


def _visible(principal: Principal, event: Event | Any) -> bool:
    return may_read(
        principal, tenant=event.tenant or "", tlp=event.tlp or "RED", status=event.status or ""
    )


def _states_before(
    session: Session, record_ids: set[uuid.UUID], before: int
) -> dict[uuid.UUID, tuple[str | None, str | None, str | None]]:
    """(tenant, tlp, status) of each record at its last event before sequence ``before``: one
    indexed query for a whole batch of events rather than one per event."""
    if not record_ids:
        return {}
    ranked = (
        sa_select(
            col(Event.record_id),
            col(Event.tenant),
            col(Event.tlp),
            col(Event.status),
            func.row_number()
            .over(partition_by=col(Event.record_id), order_by=col(Event.seq).desc())
            .label("newest"),
        )
        .where(_among(session, record_ids), col(Event.seq) < before)
        .subquery()
    )
    rows = session.execute(
        sa_select(ranked.c.record_id, ranked.c.tenant, ranked.c.tlp, ranked.c.status).where(
            ranked.c.newest == 1
        )
    )
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def _among(session: Session, record_ids: set[uuid.UUID]) -> Any:
    """record_id IN the ids: on PostgreSQL as one array parameter (= ANY), which costs a few
    times less to send and plan than a parameter per id (a batch can hold hundreds)."""
    if session.get_bind().dialect.name == "postgresql":
        ids = bindparam("record_ids", sorted(record_ids), type_=postgresql.ARRAY(Uuid()))
        return col(Event.record_id) == any_(ids)
    return col(Event.record_id).in_(record_ids)


def _readable(principal: Principal, state: tuple[str | None, str | None, str | None]) -> bool:
    tenant, tlp, status = state
    return may_read(principal, tenant=tenant or "", tlp=tlp or "RED", status=status or "")


def _upsert(event: Any, record: Any) -> UpsertChange:
    return UpsertChange(
        seq=event.seq,
        type="upsert",
        kind=event.kind,
        action=event.action,
        record_id=str(event.record_id),
        version=event.version,
        occurred_at=event.occurred_at.isoformat(),
        record=record,
    )


def _removal(event: Any) -> RemovalChange:
    return RemovalChange(
        seq=event.seq,
        type="removal",
        kind=event.kind,
        action=event.action,
        record_id=str(event.record_id),
        version=event.version,
        occurred_at=event.occurred_at.isoformat(),
    )


def _statistics_item(
    session: Session, principal: Principal, event: Any, payload: dict[str, Any]
) -> StatisticsChange:
    tenant = event.tenant or ""
    changes: list[list[Any]] = payload.get("changes", [])

    def item(rows: list[list[Any]]) -> StatisticsChange:
        return StatisticsChange(
            seq=event.seq,
            type="statistics",
            kind="statistics",
            action=event.action,
            ref_area=tenant,
            occurred_at=event.occurred_at.isoformat(),
            columns=[*payload.get("columns", []), "CONF_STATUS"],
            changes=rows,
        )

    if sees_exact_statistics(principal, tenant):
        return item([[*change, "F"] for change in changes])
    # Below the owner's level: the figures as published now (withheld ones null), never exact.
    # Small imports look up just their keys; large ones read their indicators whole.
    key_columns: list[Any] = [
        col(CubeCell.indicator),
        col(CubeCell.sex),
        col(CubeCell.age),
        col(CubeCell.counterpart_area),
        col(CubeCell.time_period),
    ]
    query = sa_select(*key_columns, col(CubeCell.published_value), col(CubeCell.conf_status)).where(
        col(CubeCell.ref_area) == tenant
    )
    if len(changes) <= _KEY_LOOKUP_LIMIT:
        query = query.where(tuple_(*key_columns).in_([tuple(c[:5]) for c in changes]))
    else:
        query = query.where(col(CubeCell.indicator).in_(sorted({c[0] for c in changes})))
    published = {tuple(row[:5]): (row[5], row[6]) for row in session.execute(query)}
    return item(
        [[*change[:5], *published.get(tuple(change[:5]), (None, "F"))] for change in changes]
    )


# The events' columns; the payload (the stored JSON text, parsed only where it is needed) is
# read only where the reader may see it: hidden records' snapshots never leave the database.
_EVENT_COLUMNS = (
    col(Event.seq),
    col(Event.kind),
    col(Event.action),
    col(Event.record_id),
    col(Event.version),
    col(Event.occurred_at),
    col(Event.tenant),
    col(Event.tlp),
    col(Event.status),
)


def _events_after(principal: Principal, after: int, kinds: Sequence[str]) -> Any:
    # Every event is read (records' states move on at each), the payload only of those shown:
    # of the kinds asked for, and readable (an import's payload can be megabytes).
    shown = and_(
        col(Event.kind).in_(sorted(kinds)),
        or_(
            col(Event.kind) == events.STATISTICS_KIND,
            readable(principal, col(Event.tenant), col(Event.tlp), col(Event.status)),
        ),
    )
    payload = case((shown, cast(col(Event.payload), Text)), else_=None).label("payload")
    return (
        sa_select(*_EVENT_COLUMNS, payload)
        .where(col(Event.seq) > after)
        .order_by(col(Event.seq))
        .limit(_BATCH + 1)  # one more: whether anything follows the batch, without a query
    )


def page(
    session: Session,
    principal: Principal,
    *,
    after: int,
    limit: int,
    kinds: Sequence[str] = FEED_KINDS,
    embedded: bool = False,
) -> FeedPage:
    """The reader's items after sequence ``after``. With ``embedded``, an upsert's record is
    the stored JSON as an ``orjson.Fragment`` (for answers serialised by orjson), not a dict."""
    limit = max(1, min(limit, MAX_LIMIT))
    items: list[ChangeItem] = []
    last, scanned = after, 0
    while len(items) < limit and scanned < MAX_SCAN:
        rows = session.execute(_events_after(principal, last, kinds)).all()
        batch, beyond = rows[:_BATCH], len(rows) > _BATCH
        if not batch:
            return FeedPage(items=items, last_seq=last, has_more=False)
        # Where each record stood before this batch, for the events of the kinds asked for that
        # the reader may not see; within the batch, each record event moves it on.
        # (A record's first event has nothing before it.)
        hidden = {
            e.record_id
            for e in batch
            if e.kind in RECORD_KINDS
            and e.kind in kinds
            and e.record_id is not None
            and e.action != "created"
            and not _visible(principal, e)
        }
        state = _states_before(session, hidden, batch[0].seq)
        for event in batch:
            if len(items) == limit:
                break
            last, scanned, previous = event.seq, scanned + 1, None
            if event.kind in RECORD_KINDS and event.record_id is not None:
                previous = state.get(event.record_id)
                state[event.record_id] = (event.tenant, event.tlp, event.status)
            if event.kind not in kinds:
                continue
            if event.kind == events.STATISTICS_KIND:
                payload = orjson.loads(event.payload)
                items.append(_statistics_item(session, principal, event, payload))
            elif _visible(principal, event):
                if event.payload is None:  # readable() is may_read() in SQL: never
                    raise RuntimeError(f"event {event.seq}: the two visibility rules differ")
                record = orjson.Fragment(event.payload) if embedded else orjson.loads(event.payload)
                items.append(_upsert(event, record))
            elif previous is not None and _readable(principal, previous):
                items.append(_removal(event))
        if last == batch[-1].seq and not beyond:
            return FeedPage(items=items, last_seq=last, has_more=False)
    # Stopped inside a batch, or at its end with more read beyond it.
    return FeedPage(items=items, last_seq=last, has_more=True)


def replay(items: Iterable[dict[str, Any]], replica: dict[str, dict[str, Any]]) -> None:
    """Apply feed items to a replica (record id → record): what a follower does."""
    for item in items:
        if item["type"] == "upsert":
            replica[item["record_id"]] = item["record"]
        elif item["type"] == "removal":
            replica.pop(item["record_id"], None)


__all__ = ["FeedPage", "page", "replay", "uuid"]
