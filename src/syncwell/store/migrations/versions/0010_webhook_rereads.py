"""Thin webhook events waiting for their flow's next read to fetch what they announced.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_rereads",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("flow", sa.String(200), nullable=False),
        sa.Column("key", sa.Text, nullable=True),
        sa.Column("system", sa.String(200), nullable=False),
        sa.Column("event_id", sa.String(300), nullable=False),
        sa.Column("requested_at", sa.Float, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sqlite_autoincrement=True,  # a read fulfils the ids it saw before it began
    )
    op.create_index("webhook_rereads_flow", "webhook_rereads", ["flow", "id"])


def downgrade() -> None:
    op.drop_table("webhook_rereads")
