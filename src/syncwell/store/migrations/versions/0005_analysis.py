"""What the constraint analysis needs: timeouts, lateness, requests and dead-letter depth per
minute, hourly and daily rollups of the minutes, and the analyses themselves.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_NEW_MINUTE_COUNTERS = ("retries_timeout", "late", "requests", "dead_letters_max")


def upgrade() -> None:
    with op.batch_alter_table("measurements") as table:
        for name in _NEW_MINUTE_COUNTERS:
            table.add_column(sa.Column(name, sa.Integer, nullable=False, server_default="0"))
    with op.batch_alter_table("deliveries") as table:
        table.add_column(
            sa.Column("retries_timeout", sa.Integer, nullable=False, server_default="0")
        )
    _create_rollups()
    op.create_table(
        "analyses",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("window_s", sa.Float, nullable=False),
        sa.Column("integration", sa.String(200), nullable=True),
        sa.Column("flow", sa.String(200), nullable=True),
        sa.Column("reason", sa.String(40), nullable=True),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("report", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("analyses_at", "analyses", ["at"])


def _create_rollups() -> None:
    counters = (
        "changes_in",
        "changes_out",
        "batches",
        "attempts",
        "retries_transient",
        "retries_rate_limited",
        "retries_timeout",
        "dead_lettered",
        "reads",
    )
    op.create_table(
        "measurement_rollups",
        sa.Column("span_s", sa.Integer, primary_key=True),
        sa.Column("flow", sa.String(200), primary_key=True),
        sa.Column("start", sa.BigInteger, primary_key=True),
        *(sa.Column(name, sa.Integer, nullable=False, server_default="0") for name in counters),
        sa.Column("read_gap_max_s", sa.Float, nullable=False),
        sa.Column("latency_sum_ms", sa.Float, nullable=False),
        sa.Column("latency_buckets", sa.Text, nullable=False),
        sa.Column("lag_sum_s", sa.Float, nullable=False),
        sa.Column("lag_max_s", sa.Float, nullable=False),
        sa.Column("late", sa.Integer, nullable=False, server_default="0"),
        sa.Column("requests", sa.Integer, nullable=False, server_default="0"),
        sa.Column("backlog_max", sa.Integer, nullable=False),
        sa.Column("dead_letters_max", sa.Integer, nullable=False, server_default="0"),
        sa.Column("breaker_open_s", sa.Float, nullable=False),
        sa.Column("headroom_min", sa.Float, nullable=True),
        sa.Column("missed_by_webhooks", sa.Integer, nullable=False),
        sa.Column("minutes", sa.Integer, nullable=False),
        sa.Column("busy_minutes", sa.Integer, nullable=False),
        sa.Column("out_busy", sa.Integer, nullable=False),
    )
    op.create_index("measurement_rollups_span_start", "measurement_rollups", ["span_s", "start"])


def downgrade() -> None:
    op.drop_table("analyses")
    op.drop_table("measurement_rollups")
    with op.batch_alter_table("deliveries") as table:
        table.drop_column("retries_timeout")
    with op.batch_alter_table("measurements") as table:
        for name in _NEW_MINUTE_COUNTERS:
            table.drop_column(name)
