"""Persistence: every table of recnet. Importing this package registers them all on the metadata."""

from recnet.models.client import ApiClient, SigningKey
from recnet.models.event import Event
from recnet.models.idempotency import IdempotencyKey
from recnet.models.organisation import Organisation, OrganisationKind
from recnet.models.record import Record, RecordTag

__all__ = [
    "ApiClient",
    "Event",
    "IdempotencyKey",
    "Organisation",
    "OrganisationKind",
    "Record",
    "RecordTag",
    "SigningKey",
]
