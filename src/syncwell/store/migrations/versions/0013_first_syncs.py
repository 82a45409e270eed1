"""First syncs: the destination's records listed and compared before a flow's first write.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "first_syncs",
        sa.Column("flow", sa.String(200), primary_key=True),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("listed_at", sa.Float, nullable=True),
        sa.Column("finished_at", sa.Float, nullable=True),
        sa.Column("columns", sa.Text, nullable=True),
        sa.Column("listed", sa.Integer, nullable=False),
        sa.Column("matched", sa.Integer, nullable=False),
        sa.Column("differed", sa.Integer, nullable=False),
        sa.Column("unmatched", sa.Integer, nullable=True),
    )
    op.create_table(
        "first_sync_records",
        sa.Column("flow", sa.String(200), primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("digest", sa.LargeBinary, nullable=False),
        sa.Column("remote_id", sa.Text, nullable=True),
        sa.Column("copies", sa.Integer, nullable=False),
        sa.Column("seen", sa.Integer, nullable=False),
        sa.Column("claimed", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("first_sync_records")
    op.drop_table("first_syncs")
