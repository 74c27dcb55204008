"""Wire shape of the organisation registry."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from recnet.schemas.common import ReadModel
from recnet.schemas.vocabularies import OrganisationKind

# Member states use ISO 3166-1 alpha-3; other organisations a short upper-case acronym.
ORGANISATION_CODE = r"^[A-Z][A-Z0-9_-]{1,15}$"


class Organisation(ReadModel):
    """An organisation of the network."""

    id: uuid.UUID
    code: str = Field(description="ISO 3166-1 alpha-3 for member states; an acronym otherwise.")
    kind: OrganisationKind
    name: dict[str, str] = Field(description="Name by language tag.")
    tenant: str | None = Field(description="The tenant code, for member states; null otherwise.")
    created_at: datetime
