"""Incidents: periods in which a flow was unhealthy.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("integration", sa.String(200), nullable=False),
        sa.Column("flow", sa.String(200), nullable=False),
        sa.Column("cause", sa.String(40), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("opened_at", sa.Float, nullable=False),
        sa.Column("closed_at", sa.Float, nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("incidents_flow_cause_open", "incidents", ["flow", "cause", "closed_at"])


def downgrade() -> None:
    op.drop_table("incidents")
