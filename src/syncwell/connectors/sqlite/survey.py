"""The tables of one SQLite database, for `syncwell init` and `syncwell tables`."""

from __future__ import annotations

import sqlite3

from syncwell.connectors._sql import quote
from syncwell.connectors.sqlite.schema import describe
from syncwell.connectors.survey import SurveyedTable

__all__ = ["survey", "survey_table", "table_exists"]

# SQLite's own tables and the tombstones a destination keeps are not the user's to sync.
_TABLES = r"""
SELECT name FROM sqlite_master
WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
  AND name NOT LIKE '\_syncwell\_%' ESCAPE '\'
ORDER BY name
"""


def survey(connection: sqlite3.Connection, system: str) -> list[SurveyedTable]:
    """Every table of the database, by name."""
    names = [row[0] for row in connection.execute(_TABLES).fetchall()]
    return [survey_table(connection, name, system) for name in names]


def survey_table(connection: sqlite3.Connection, name: str, system: str) -> SurveyedTable:
    """One table; a missing one fails with the fix, as the connector's own `describe` does."""
    table = describe(connection, name, system)
    info = connection.execute(f"PRAGMA table_info({quote(name)})").fetchall()
    primary = tuple(row[1] for row in sorted(info, key=lambda row: row[5]) if row[5])
    indexes = [primary] if primary else []
    for index in connection.execute(f"PRAGMA index_list({quote(name)})").fetchall():
        if index[4]:  # partial: it does not cover every row
            continue
        parts = connection.execute(f"PRAGMA index_info({quote(index[1])})").fetchall()
        columns = tuple(part[2] for part in sorted(parts, key=lambda part: part[0]))
        if None not in columns and columns != primary:  # None: an expression
            indexes.append(columns)
    return SurveyedTable(name=name, table=table, primary_key=primary, indexes=tuple(indexes))


def table_exists(connection: sqlite3.Connection, name: str) -> bool:
    """Whether the database has a table (or view) called `name`."""
    found = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE name = ? AND type IN ('table', 'view')", (name,)
    )
    return found.fetchone() is not None
