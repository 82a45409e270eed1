"""What the constraint analysis needs: per minute, the seconds measured, timeouts, busy time,
failed reads, lateness, requests, dead-letter depth and the rate limits in force; hourly and
daily rollups of the minutes; and the analyses themselves.

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


def _new_minute_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("measured_s", sa.Float, nullable=False, server_default="0"),
        sa.Column("backfill_in", sa.Integer, nullable=False, server_default="0"),
        sa.Column("screened", sa.Integer, nullable=False, server_default="0"),
        sa.Column("retries_timeout", sa.Integer, nullable=False, server_default="0"),
        sa.Column("busy_s", sa.Float, nullable=False, server_default="0"),
        sa.Column("out_busy", sa.Integer, nullable=False, server_default="0"),
        sa.Column("read_failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("late", sa.Integer, nullable=False, server_default="0"),
        sa.Column("requests", sa.Integer, nullable=False, server_default="0"),
        sa.Column("dead_letters_max", sa.Integer, nullable=False, server_default="0"),
        sa.Column("source_rate_min", sa.Float, nullable=True),
        sa.Column("destination_rate_min", sa.Float, nullable=True),
    ]


def upgrade() -> None:
    with op.batch_alter_table("measurements") as table:
        for column in _new_minute_columns():
            table.add_column(column)
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
        "dead_lettered",
        "reads",
    )
    op.create_table(
        "measurement_rollups",
        sa.Column("span_s", sa.Integer, primary_key=True),
        sa.Column("flow", sa.String(200), primary_key=True),
        sa.Column("start", sa.BigInteger, primary_key=True),
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
        *_new_minute_columns(),
    )
    op.create_index("measurement_rollups_span_start", "measurement_rollups", ["span_s", "start"])


def downgrade() -> None:
    op.drop_table("analyses")
    op.drop_table("measurement_rollups")
    with op.batch_alter_table("deliveries") as table:
        table.drop_column("retries_timeout")
    with op.batch_alter_table("measurements") as table:
        for column in _new_minute_columns():
            table.drop_column(column.name)
