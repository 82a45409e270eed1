"""Dashboard sessions (their own secrets, stored hashed) and failed attempts per client.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("secret_hash", sa.String(64), primary_key=True),
        sa.Column("token_id", sa.BigInteger, nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("last_seen_at", sa.Float, nullable=False),
    )
    op.create_index("sessions_by_token", "sessions", ["token_id"])
    op.create_index("sessions_by_expiry", "sessions", ["expires_at"])
    op.create_table(
        "auth_failures",
        sa.Column("client", sa.String(64), primary_key=True),
        sa.Column("window_start", sa.Float, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
    )
    op.create_index("auth_failures_by_window", "auth_failures", ["window_start"])


def downgrade() -> None:
    op.drop_index("auth_failures_by_window", table_name="auth_failures")
    op.drop_table("auth_failures")
    op.drop_index("sessions_by_expiry", table_name="sessions")
    op.drop_index("sessions_by_token", table_name="sessions")
    op.drop_table("sessions")
