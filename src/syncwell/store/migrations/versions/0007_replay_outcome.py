"""Dead letters remember the journal entry a replay put back, and the newest dead letter at
that moment, so its outcome can be told; indexes for the dashboard's and pruning's queries.

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
        table.add_column(sa.Column("replayed_after", sa.BigInteger, nullable=True))
    op.create_index("dead_letters_flow_key", "dead_letters", ["flow", "key"])
    op.create_index("token_uses_at", "token_uses", ["at"])


def downgrade() -> None:
    op.drop_index("token_uses_at", "token_uses")
    op.drop_index("dead_letters_flow_key", "dead_letters")
    with op.batch_alter_table("dead_letters") as table:
        table.drop_column("replayed_after")
        table.drop_column("replayed_as")
