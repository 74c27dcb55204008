"""The event log, record tags, full-text search and idempotency keys.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from recnet.clock import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
APP_ROLE = "recnet_app"
OWN_TENANT = "tenant = current_setting('recnet.tenant', true)"

# Kept here rather than imported, so this migration stays as it was written.
SQLITE_APPEND_ONLY = [
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
    "BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END",
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
    "BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END",
]


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("actor_client", sa.String(length=64), nullable=True),
        sa.Column("actor_organisation", sa.String(length=16), nullable=True),
        sa.Column("tenant", sa.String(length=3), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_events_tenant", "events", ["tenant"])
    op.create_index("ix_events_record", "events", ["record_id", "seq"])

    op.create_table(
        "record_tags",
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("tenant", sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"]),
        sa.PrimaryKeyConstraint("record_id", "name", "value"),
    )
    op.create_index("ix_record_tags_lookup", "record_tags", ["name", "value", "record_id"])

    op.create_table(
        "idempotency_keys",
        sa.Column("owner", sa.String(length=80), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("headers", JSON, nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("owner", "key"),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])

    if op.get_bind().dialect.name == "postgresql":
        _postgresql()
    else:
        _sqlite()


def _sqlite() -> None:
    for statement in SQLITE_APPEND_ONLY:
        op.execute(statement)
    # Full-text search over every language of title, summary and description.
    op.execute(
        "CREATE VIRTUAL TABLE record_search USING fts5("
        "record_id UNINDEXED, body, tokenize = 'unicode61 remove_diacritics 2')"
    )


def _postgresql() -> None:
    op.execute(
        "CREATE TABLE record_search ("
        "record_id uuid PRIMARY KEY REFERENCES records(id), "
        "tenant varchar(3) NOT NULL, "
        "document tsvector NOT NULL)"
    )
    op.execute("CREATE INDEX ix_record_search_document ON record_search USING gin (document)")
    # The log is append-only for the application: it may read and add, never change or remove.
    op.execute(f"GRANT SELECT, INSERT ON events TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, DELETE ON record_tags TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON record_search TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO {APP_ROLE}")
    for table in ("record_tags", "record_search"):
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        # Reading these alone tells nothing: every query joins them to records, which RLS guards.
        op.execute(f"CREATE POLICY {table}_read ON {table} FOR SELECT USING (true)")
        op.execute(f"CREATE POLICY {table}_insert ON {table} FOR INSERT WITH CHECK ({OWN_TENANT})")
        op.execute(
            f"CREATE POLICY {table}_update ON {table} FOR UPDATE "
            f"USING ({OWN_TENANT}) WITH CHECK ({OWN_TENANT})"
        )
        op.execute(f"CREATE POLICY {table}_delete ON {table} FOR DELETE USING ({OWN_TENANT})")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS record_search")
    op.drop_table("idempotency_keys")
    op.drop_table("record_tags")
    op.drop_table("events")
