"""Programmes: the shared record mechanism, with the programme schema and tags."""

from __future__ import annotations

from recnet.auth.scopes import Scope
from recnet.schemas.programmes import Programme, ProgrammeCreate, ProgrammeDocument
from recnet.services.records import Kind

PROGRAMMES = Kind(
    name="programme",
    plural="programmes",
    create=ProgrammeCreate,
    document=ProgrammeDocument,
    read=Programme,
    scope=Scope.programmes_write,
    tag_fields={
        "approach": "components",
        "activity_status": "activity_status",
    },
)
