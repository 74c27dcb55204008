"""Column types shared by the tables."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON
from sqlalchemy.dialects.postgresql import JSONB

from recnet.clock import UTCDateTime

# JSON documents: JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JSONDocument: Any = JSON().with_variant(JSONB(), "postgresql")

__all__ = ["JSONDocument", "UTCDateTime"]
