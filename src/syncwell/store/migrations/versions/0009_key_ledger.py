"""The key ledger: the keys each flow's source holds, to find deletes no tombstone announced.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source_keys",
        sa.Column("flow", sa.String(200), primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("key_values", sa.LargeBinary, nullable=False),
        sa.Column("digest", sa.LargeBinary, nullable=True),
        sa.Column("pass_no", sa.Integer, nullable=False),
        sa.Column("page", sa.Text, nullable=True),
    )
    op.create_index("source_keys_flow_page", "source_keys", ["flow", "page"])
    op.create_table(
        "key_passes",
        sa.Column("flow", sa.String(200), primary_key=True),
        sa.Column("pass_no", sa.Integer, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float, nullable=True),
        sa.Column("held", sa.Text, nullable=True),
        sa.Column("shape", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("key_passes")
    op.drop_table("source_keys")
