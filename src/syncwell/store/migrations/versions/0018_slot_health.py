"""Replication slot health in the per-minute measurements: the most WAL a `mode: cdc` flow's
slot kept at a sample, and how far behind in time its confirmed position was (measure/slots.py).
Null for flows that are not `mode: cdc`.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name in ("measurements", "measurement_rollups"):
        with op.batch_alter_table(name) as table:
            table.add_column(sa.Column("slot_retained_bytes_max", sa.BigInteger, nullable=True))
            table.add_column(sa.Column("slot_retained_s_max", sa.Float, nullable=True))


def downgrade() -> None:
    for name in ("measurements", "measurement_rollups"):
        with op.batch_alter_table(name) as table:
            table.drop_column("slot_retained_s_max")
            table.drop_column("slot_retained_bytes_max")
