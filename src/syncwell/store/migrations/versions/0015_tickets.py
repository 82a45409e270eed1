"""Support tickets: one row per ticket read from the workspace's helpdesk, with the integration
its rule names and when it was opened and resolved.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("integration", sa.String(200), nullable=True),
        sa.Column("opened_at", sa.Float, nullable=False),
        sa.Column("closed_at", sa.Float, nullable=True),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("read_at", sa.Float, nullable=False),
    )
    op.create_index("tickets_by_integration", "tickets", ["integration", "opened_at"])


def downgrade() -> None:
    op.drop_index("tickets_by_integration", table_name="tickets")
    op.drop_table("tickets")
