"""API tokens, stored hashed, and every use of one.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tokens",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("revoked_at", sa.Float, nullable=True),
        sa.Column("last_used_at", sa.Float, nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "token_uses",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("token_id", sa.BigInteger, nullable=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("accepted", sa.Boolean, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("token_uses_token_at", "token_uses", ["token_id", "at"])


def downgrade() -> None:
    op.drop_table("token_uses")
    op.drop_table("tokens")
