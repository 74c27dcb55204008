"""Aggregate statistics: reported observations (tenant-owned) and the published cube.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from recnet.clock import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "recnet_app"
KEY = [
    ("ref_area", 3),
    ("indicator", 32),
    ("sex", 3),
    ("age", 8),
    ("counterpart_area", 3),
    ("time_period", 7),
]


def _key_columns() -> list[sa.Column]:
    return [sa.Column(name, sa.String(length=n), nullable=False) for name, n in KEY]


def upgrade() -> None:
    op.create_table(
        "observations",
        *_key_columns(),
        sa.Column("obs_value", sa.Integer(), nullable=False),
        sa.Column("obs_status", sa.String(length=1), nullable=False),
        sa.Column("unit_measure", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("comment", sa.String(length=500), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(*[name for name, _ in KEY]),
    )
    op.create_index("ix_observations_updated", "observations", ["updated_at"])
    op.create_table(
        "statistics_cube",
        *_key_columns(),
        sa.Column("frequency", sa.String(length=1), nullable=False),
        sa.Column("derived", sa.Boolean(), nullable=False),
        sa.Column("exact_value", sa.Integer(), nullable=False),
        sa.Column("published_value", sa.Integer(), nullable=True),
        sa.Column("conf_status", sa.String(length=1), nullable=False),
        sa.Column("obs_status", sa.String(length=1), nullable=True),
        sa.Column("unit_measure", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("comment", sa.String(length=500), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(*[name for name, _ in KEY]),
    )
    op.create_index(
        "ix_statistics_cube_indicator", "statistics_cube", ["indicator", "ref_area", "time_period"]
    )
    op.create_index("ix_statistics_cube_updated", "statistics_cube", ["updated_at"])
    if op.get_bind().dialect.name == "postgresql":
        own = "ref_area = current_setting('recnet.tenant', true)"
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON observations TO {APP_ROLE}")
        # The cube is derived from every tenant's figures and holds regional totals: it has no
        # owner; the service rebuilds it, and readers get the protected values from it.
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON statistics_cube TO {APP_ROLE}")
        op.execute("ALTER TABLE observations ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE observations FORCE ROW LEVEL SECURITY")
        op.execute("CREATE POLICY observations_read ON observations FOR SELECT USING (true)")
        op.execute(
            f"CREATE POLICY observations_insert ON observations FOR INSERT WITH CHECK ({own})"
        )
        op.execute(
            f"CREATE POLICY observations_update ON observations FOR UPDATE "
            f"USING ({own}) WITH CHECK ({own})"
        )
        op.execute(f"CREATE POLICY observations_delete ON observations FOR DELETE USING ({own})")


def downgrade() -> None:
    op.drop_table("statistics_cube")
    op.drop_table("observations")
