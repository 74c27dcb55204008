"""Persistence: every table of recnet. Importing this package registers them all on the metadata."""

from recnet.models.client import ApiClient, SigningKey
from recnet.models.event import Event
from recnet.models.idempotency import IdempotencyKey
from recnet.models.organisation import Organisation
from recnet.models.record import Record, RecordTag
from recnet.models.statistics import CubeCell, CubeHistory, Observation
from recnet.models.subscription import Delivery, Subscription

__all__ = [
    "ApiClient",
    "CubeCell",
    "CubeHistory",
    "Delivery",
    "Event",
    "IdempotencyKey",
    "Observation",
    "Organisation",
    "Record",
    "RecordTag",
    "SigningKey",
    "Subscription",
]
