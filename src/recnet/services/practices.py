"""Good practices: the shared record mechanism, with the practice schema and tags."""

from __future__ import annotations

from recnet.auth.scopes import Scope
from recnet.schemas.practices import Practice, PracticeCreate, PracticeDocument
from recnet.services.records import Kind

PRACTICES = Kind(
    name="practice",
    plural="practices",
    create=PracticeCreate,
    document=PracticeDocument,
    read=Practice,
    scope=Scope.practices_write,
    tag_fields={
        "working_group": "working_group",
        "approach": "approaches",
        "target_group": "target_groups",
        "evidence_level": "evidence_level",
    },
)
