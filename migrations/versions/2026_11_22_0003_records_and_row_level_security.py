"""Shared records; on PostgreSQL, the application role and row-level security.

The application works as ``recnet_app``: it owns no table, so row-level security holds it. A write
touches only rows of the tenant set for the transaction (``recnet.tenant``); rows marked
AMBER+STRICT or RED, and drafts, are readable only under their own tenant.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from recnet.clock import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
APP_ROLE = "recnet_app"
CURRENT_TENANT = "current_setting('recnet.tenant', true)"


def upgrade() -> None:
    op.create_table(
        "records",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("tenant", sa.String(length=3), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('practice', 'programme')", name="ck_records_kind"),
        sa.CheckConstraint(
            "tlp IN ('CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED')", name="ck_records_tlp"
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'withdrawn')", name="ck_records_status"
        ),
        sa.ForeignKeyConstraint(["tenant"], ["organisations.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "tenant", "source_ref", name="uq_records_source_ref"),
    )
    op.create_index("ix_records_tenant", "records", ["tenant"])
    op.create_index("ix_records_kind_updated", "records", ["kind", "updated_at", "id"])
    if op.get_bind().dialect.name == "postgresql":
        _application_role()
        _row_level_security("records")


def _application_role() -> None:
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS;
            END IF;
            -- The migrating role must be able to become the application role.
            IF NOT pg_has_role(current_user, '{APP_ROLE}', 'MEMBER') THEN
                EXECUTE format('GRANT {APP_ROLE} TO %I', current_user);
            END IF;
        END
        $$;
        """
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT SELECT ON alembic_version TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON organisations, api_clients TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON signing_keys TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON records TO {APP_ROLE}")


def _row_level_security(table: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    own = f"tenant = {CURRENT_TENANT}"
    op.execute(
        f"CREATE POLICY {table}_read ON {table} FOR SELECT USING "
        f"((tlp NOT IN ('AMBER+STRICT', 'RED') AND status <> 'draft') OR {own})"
    )
    op.execute(f"CREATE POLICY {table}_insert ON {table} FOR INSERT WITH CHECK ({own})")
    op.execute(
        f"CREATE POLICY {table}_update ON {table} FOR UPDATE USING ({own}) WITH CHECK ({own})"
    )
    op.execute(f"CREATE POLICY {table}_delete ON {table} FOR DELETE USING ({own})")


def downgrade() -> None:
    op.drop_index("ix_records_kind_updated", table_name="records")
    op.drop_index("ix_records_tenant", table_name="records")
    op.drop_table("records")
