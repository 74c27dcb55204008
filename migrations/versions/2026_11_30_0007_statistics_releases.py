"""Statistics releases: each cube cell's release, the versions earlier releases published, and
one confidential status for readers below the owner.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
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


def upgrade() -> None:
    # The cells already published are the first release of their partition.
    op.add_column(
        "statistics_cube", sa.Column("since", sa.Integer(), server_default="1", nullable=False)
    )
    op.create_table(
        "statistics_cube_history",
        *[sa.Column(name, sa.String(length=n), nullable=False) for name, n in KEY],
        sa.Column("since", sa.Integer(), nullable=False),
        sa.Column("until", sa.Integer(), nullable=False),
        sa.Column("exact_value", sa.Integer(), nullable=False),
        sa.Column("withheld", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint(
            "indicator", "ref_area", "sex", "age", "counterpart_area", "time_period", "since"
        ),
    )
    op.create_index(
        "ix_statistics_cube_history_partition",
        "statistics_cube_history",
        ["indicator", "time_period"],
    )
    # A rebuild reads the observations of one indicator and year, across the states.
    op.create_index("ix_observations_partition", "observations", ["indicator", "time_period"])
    # Readers below the owner are not told why a cell is withheld.
    op.execute("UPDATE statistics_cube SET conf_status = 'C' WHERE conf_status = 'D'")
    if op.get_bind().dialect.name == "postgresql":
        # Like the cube, the history has no owner: only the service writes it, and it never
        # rewrites a past release.
        op.execute(f"GRANT SELECT, INSERT ON statistics_cube_history TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_index("ix_observations_partition", table_name="observations")
    op.drop_table("statistics_cube_history")
    with op.batch_alter_table("statistics_cube") as batch:
        batch.drop_column("since")
