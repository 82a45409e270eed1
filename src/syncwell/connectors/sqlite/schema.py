"""What the connector learns from SQLite about a flow's table."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from syncwell.connectors._sql import quote
from syncwell.errors import IntegrationFatalError

__all__ = ["SqliteTable", "describe"]


@dataclass(frozen=True, slots=True)
class SqliteTable:
    """A table's columns with declared types, and its unique keys."""

    name: str
    columns: tuple[str, ...]
    types: dict[str, str]
    unique_keys: tuple[frozenset[str], ...]
    not_null: frozenset[str]

    def declared(self, column: str) -> str:
        """The column's declared type, upper case ('' when none)."""
        return self.types.get(column, "").upper()

    def check_key(self, key: Sequence[str], system: str) -> None:
        """Fail with the fix when a key column allows NULL: such a record has no identity."""
        nullable = [column for column in key if column not in self.not_null]
        if nullable:
            raise IntegrationFatalError(
                f"key column(s) {', '.join(nullable)} of table {self.name} allow NULL, and a "
                "record without a key cannot be synced idempotently; declare them NOT NULL "
                "(or INTEGER PRIMARY KEY), or choose another key",
                system=system,
            )

    def check_columns(self, columns: Sequence[str], role: str, system: str) -> None:
        """Fail with the fix when a configured column is not in the table."""
        missing = [column for column in columns if column not in self.types]
        if missing:
            raise IntegrationFatalError(
                f"{role} column(s) {', '.join(missing)} not in table {self.name}; "
                f"it has: {', '.join(self.columns)}. Fix the flow in syncwell.yaml.",
                system=system,
            )


def describe(connection: sqlite3.Connection, name: str, system: str) -> SqliteTable:
    """Read a table's columns and unique keys, or fail saying the table is missing."""
    info = connection.execute(f"PRAGMA table_info({quote(name)})").fetchall()
    if not info:
        raise IntegrationFatalError(
            f"table {name} does not exist; create it or fix the flow's stream/target "
            "in syncwell.yaml",
            system=system,
        )
    keys = [frozenset(row[1] for row in info if row[5])]  # the primary key columns
    for index in connection.execute(f"PRAGMA index_list({quote(name)})").fetchall():
        if index[2] and not index[4]:  # unique, and not partial
            parts = connection.execute(f"PRAGMA index_info({quote(index[1])})").fetchall()
            keys.append(frozenset(part[2] for part in parts))
    columns = tuple(row[1] for row in info)
    primary = [row for row in info if row[5]]
    # An INTEGER PRIMARY KEY is the rowid: never NULL, though SQLite does not flag it NOT NULL.
    rowid = {primary[0][1]} if len(primary) == 1 and primary[0][2].upper() == "INTEGER" else set()
    not_null = frozenset(row[1] for row in info if row[3]) | rowid
    return SqliteTable(name, columns, {row[1]: row[2] for row in info}, tuple(keys), not_null)
