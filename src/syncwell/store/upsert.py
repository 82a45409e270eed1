"""Insert-or-update in the dialect of the store: both SQLite and PostgreSQL say ON CONFLICT.

Sync, on a sync `Connection`: async callers run it with `AsyncConnection.run_sync`, and the
webhook inbox runs a whole transaction of such steps in one hop to a thread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["upsert"]


def upsert(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, object]],
    *,
    keys: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert `rows`; where a row's `keys` exist, set only the `update` columns."""
    if not rows:
        return
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={column: statement.excluded[column] for column in update}
    )
    connection.execute(statement, list(rows))
