"""Measurements per flow per minute.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    counters = (
        "changes_in",
        "changes_out",
        "batches",
        "attempts",
        "retries_transient",
        "retries_rate_limited",
        "dead_lettered",
        "reads",
    )
    op.create_table(
        "measurements",
        sa.Column("flow", sa.String(200), primary_key=True),
        sa.Column("minute", sa.BigInteger, primary_key=True),
        *(sa.Column(name, sa.Integer, nullable=False) for name in counters),
        sa.Column("read_gap_max_s", sa.Float, nullable=False),
        sa.Column("latency_sum_ms", sa.Float, nullable=False),
        sa.Column("latency_buckets", sa.Text, nullable=False),
        sa.Column("lag_sum_s", sa.Float, nullable=False),
        sa.Column("lag_max_s", sa.Float, nullable=False),
        sa.Column("backlog_max", sa.Integer, nullable=False),
        sa.Column("breaker_open_s", sa.Float, nullable=False),
        sa.Column("headroom_min", sa.Float, nullable=True),
        sa.Column("missed_by_webhooks", sa.Integer, nullable=False),
    )
    op.create_index("measurements_minute", "measurements", ["minute"])


def downgrade() -> None:
    op.drop_table("measurements")
