"""Persistence: every table of recnet. Importing this package registers them all on the metadata."""

from recnet.models.organisation import Organisation, OrganisationKind

__all__ = ["Organisation", "OrganisationKind"]
