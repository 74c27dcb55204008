"""What an operator's monitoring reads from the database: the event log's head and the state of
webhook delivery, each in one grouped query (``/metrics`` reads them on every scrape)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from recnet.models import Delivery, Event, Subscription


@dataclass(frozen=True)
class DatabaseFigures:
    event_head: int
    # Subscriptions by status (active, failing, ...).
    subscriptions: dict[str, int] = field(default_factory=dict)
    # Delivery attempts by outcome: delivered (a 2xx answer) or failed (anything else).
    deliveries: dict[str, int] = field(default_factory=dict)


def database_figures(session: Session) -> DatabaseFigures:
    head = session.exec(select(func.coalesce(func.max(Event.seq), 0))).one()
    subscriptions = session.exec(
        select(Subscription.status, func.count()).group_by(col(Subscription.status))
    ).all()
    delivered = case(
        (
            (col(Delivery.status_code) >= 200) & (col(Delivery.status_code) < 300),
            "delivered",
        ),
        else_="failed",
    )
    deliveries = session.exec(select(delivered, func.count()).group_by(delivered)).all()
    return DatabaseFigures(
        event_head=int(head or 0),
        subscriptions={status: int(n) for status, n in subscriptions},
        deliveries={"delivered": 0, "failed": 0} | {outcome: int(n) for outcome, n in deliveries},
    )
