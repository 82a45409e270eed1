"""Tables for external tools: webhook event ids, record versions, reconciliations.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhook_events",
        sa.Column("system", sa.String(200), primary_key=True),
        sa.Column("event_id", sa.String(300), primary_key=True),
        sa.Column("received_at", sa.Float, nullable=False),
    )
    op.create_index("webhook_events_received", "webhook_events", ["received_at"])
    op.create_table(
        "record_versions",
        sa.Column("system", sa.String(200), primary_key=True),
        sa.Column("stream", sa.String(200), primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("seen_version", sa.LargeBinary, nullable=True),
        sa.Column("written_version", sa.LargeBinary, nullable=True),
        sa.Column("written_values", sa.LargeBinary, nullable=True),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "reconciliations",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("flow", sa.String(200), nullable=False),
        sa.Column("checked", sa.Integer, nullable=False),
        sa.Column("missed", sa.Integer, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("reconciliations_flow_at", "reconciliations", ["flow", "at"])


def downgrade() -> None:
    op.drop_table("reconciliations")
    op.drop_table("record_versions")
    op.drop_table("webhook_events")
