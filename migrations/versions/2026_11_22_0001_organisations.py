"""Organisation registry, with the five member states as tenants.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from recnet.clock import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# Fixed ids, so every installation names the tenants alike.
MEMBER_STATES = [
    ("6a1f0c52-57a4-4c9e-9d43-0a7d3f5c1a01", "KAZ", "Kazakhstan", "Казахстан"),
    ("6a1f0c52-57a4-4c9e-9d43-0a7d3f5c1a02", "KGZ", "Kyrgyzstan", "Кыргызстан"),
    ("6a1f0c52-57a4-4c9e-9d43-0a7d3f5c1a03", "TJK", "Tajikistan", "Таджикистан"),
    ("6a1f0c52-57a4-4c9e-9d43-0a7d3f5c1a04", "TKM", "Turkmenistan", "Туркменистан"),
    ("6a1f0c52-57a4-4c9e-9d43-0a7d3f5c1a05", "UZB", "Uzbekistan", "Узбекистан"),
]


def upgrade() -> None:
    organisations = op.create_table(
        "organisations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('member_state', 'secretariat', 'partner', 'researcher')",
            name="ck_organisations_kind",
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_organisations_code", "organisations", ["code"], unique=True)
    created = datetime(2026, 11, 22, tzinfo=UTC)
    op.bulk_insert(
        organisations,
        [
            {
                "id": UUID(id_),
                "code": code,
                "kind": "member_state",
                "name": {"en": en, "ru": ru},
                "created_at": created,
            }
            for id_, code, en, ru in MEMBER_STATES
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_organisations_code", table_name="organisations")
    op.drop_table("organisations")
