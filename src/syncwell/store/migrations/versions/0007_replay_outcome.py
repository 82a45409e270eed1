"""Dead letters remember the journal entry a replay put back, so its outcome can be told.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dead_letters") as table:
        table.add_column(sa.Column("replayed_as", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dead_letters") as table:
        table.drop_column("replayed_as")
