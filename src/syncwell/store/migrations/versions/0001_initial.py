"""The first tables: journal, checkpoints, deliveries, dead letters, failures.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "journal",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("flow", sa.String(200), nullable=False),
        sa.Column("changes", sa.Integer, nullable=False),
        sa.Column("observed_at", sa.Float, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sqlite_autoincrement=True,  # ids are never reused, even after deletes
    )
    op.create_index("journal_flow_id", "journal", ["flow", "id"])
    op.create_table(
        "checkpoints",
        sa.Column("flow", sa.String(200), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("flow", sa.String(200), nullable=False),
        sa.Column("first_entry", sa.BigInteger, nullable=False),
        sa.Column("last_entry", sa.BigInteger, nullable=False),
        sa.Column("changes", sa.Integer, nullable=False),
        sa.Column("written", sa.Integer, nullable=False),
        sa.Column("dead_lettered", sa.Integer, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("retries_transient", sa.Integer, nullable=False),
        sa.Column("retries_rate_limited", sa.Integer, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float, nullable=False),
        sqlite_autoincrement=True,  # ids are never reused, even after deletes
    )
    op.create_index("deliveries_flow_finished", "deliveries", ["flow", "finished_at"])
    op.create_table(
        "dead_letters",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("flow", sa.String(200), nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("op", sa.String(10), nullable=False),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("error_class", sa.String(100), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("resolved_at", sa.Float, nullable=True),
        sqlite_autoincrement=True,  # ids are never reused, even after deletes
    )
    op.create_index("dead_letters_flow_status", "dead_letters", ["flow", "status"])
    op.create_table(
        "failures",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("flow", sa.String(200), nullable=False),
        sa.Column("stage", sa.String(10), nullable=False),
        sa.Column("error_class", sa.String(100), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sqlite_autoincrement=True,  # ids are never reused, even after deletes
    )
    op.create_index("failures_flow_at", "failures", ["flow", "at"])


def downgrade() -> None:
    for table in ("failures", "dead_letters", "deliveries", "checkpoints", "journal"):
        op.drop_table(table)
