"""What the systems' answers say, in the per-minute measurements: reads refused with a 429 or
unanswered in time, reads and writes that failed for a configuration mistake, and the seconds
each side of a flow was down by its answers (not only by its breaker).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_COUNTERS = ("reads_rate_limited", "reads_timed_out", "misconfigured")
_SECONDS = ("source_down_s", "destination_down_s")


def upgrade() -> None:
    for name in ("measurements", "measurement_rollups"):
        with op.batch_alter_table(name) as table:
            for column in _COUNTERS:
                table.add_column(sa.Column(column, sa.Integer, nullable=False, server_default="0"))
            for column in _SECONDS:
                table.add_column(sa.Column(column, sa.Float, nullable=False, server_default="0"))


def downgrade() -> None:
    for name in ("measurements", "measurement_rollups"):
        with op.batch_alter_table(name) as table:
            for column in reversed(_SECONDS + _COUNTERS):
                table.drop_column(column)
