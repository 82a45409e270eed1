"""Partition leases: per (stream, flow, partition), the message a worker last took the lease
for and its epoch, the fencing token its writes carry (store/leases.py).

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partition_leases",
        sa.Column("stream", sa.String(200), primary_key=True),
        sa.Column("flow", sa.String(200), primary_key=True),
        sa.Column("partition", sa.Integer, primary_key=True),
        sa.Column("stream_born", sa.BigInteger, nullable=False),
        sa.Column("consumer_born", sa.BigInteger, nullable=False),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("delivered", sa.BigInteger, nullable=False),
        sa.Column("epoch", sa.BigInteger, nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("taken_at", sa.Float, nullable=False),
        sa.Column("fenced", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("partition_leases")
