"""Read-after-write verification: records read back per flow, drift per field, and two
counters in the per-minute measurements.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_COUNTERS = ("verified", "drifted")


def upgrade() -> None:
    op.create_table(
        "verifications",
        sa.Column("flow", sa.String(200), primary_key=True),
        sa.Column("verified", sa.BigInteger, nullable=False),
        sa.Column("drifted", sa.BigInteger, nullable=False),
        sa.Column("missing", sa.BigInteger, nullable=False),
        sa.Column("first_at", sa.Float, nullable=False),
        sa.Column("last_at", sa.Float, nullable=False),
    )
    op.create_table(
        "field_drift",
        sa.Column("flow", sa.String(200), primary_key=True),
        sa.Column("field", sa.String(200), primary_key=True),
        sa.Column("drifted", sa.BigInteger, nullable=False),
        sa.Column("last_key", sa.Text, nullable=False),
        sa.Column("last_sent", sa.Text, nullable=False),
        sa.Column("last_read", sa.Text, nullable=False),
        sa.Column("last_at", sa.Float, nullable=False),
    )
    for name in ("measurements", "measurement_rollups"):
        with op.batch_alter_table(name) as table:
            for column in _COUNTERS:
                table.add_column(sa.Column(column, sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    for name in ("measurements", "measurement_rollups"):
        with op.batch_alter_table(name) as table:
            for column in reversed(_COUNTERS):
                table.drop_column(column)
    op.drop_table("field_drift")
    op.drop_table("verifications")
