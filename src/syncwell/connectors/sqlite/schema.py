"""What the connector learns from SQLite about a flow's table."""

from __future__ import annotations

import sqlite3

from syncwell.connectors._sql import quote
from syncwell.connectors._table import Table
from syncwell.errors import MisconfiguredError

__all__ = ["NOT_NULL_FIX", "Table", "describe"]

NOT_NULL_FIX = "declare them NOT NULL (or INTEGER PRIMARY KEY)"


def describe(connection: sqlite3.Connection, name: str, system: str) -> Table:
    """Read a table's columns and unique keys, or fail saying the table is missing."""
    info = connection.execute(f"PRAGMA table_info({quote(name)})").fetchall()
    if not info:
        raise MisconfiguredError(
            f"table {name} does not exist; create it or fix the flow's stream/target "
            "in syncwell.yaml (`syncwell tables --create` makes a flow's missing "
            "destination table from its source)",
            system=system,
        )
    keys = [frozenset(row[1] for row in info if row[5])]  # the primary key columns
    for index in connection.execute(f"PRAGMA index_list({quote(name)})").fetchall():
        if index[2] and not index[4]:  # unique, and not partial
            parts = connection.execute(f"PRAGMA index_info({quote(index[1])})").fetchall()
            keys.append(frozenset(part[2] for part in parts))
    primary = [row for row in info if row[5]]
    # An INTEGER PRIMARY KEY is the rowid: never NULL, though SQLite does not flag it NOT NULL.
    rowid = {primary[0][1]} if len(primary) == 1 and primary[0][2].upper() == "INTEGER" else set()
    not_null = frozenset(row[1] for row in info if row[3]) | rowid
    return Table(quote(name), {row[1]: row[2] for row in info}, tuple(keys), not_null)
