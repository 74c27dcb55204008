"""Persistence: every table of recnet. Importing this package registers them all on the metadata."""

from recnet.models.client import ApiClient, SigningKey
from recnet.models.organisation import Organisation, OrganisationKind
from recnet.models.record import Record

__all__ = ["ApiClient", "Organisation", "OrganisationKind", "Record", "SigningKey"]
