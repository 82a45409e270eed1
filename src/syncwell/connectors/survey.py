"""What `syncwell init` learns of a database's tables: columns, keys and indexes, per table.

Each database connector surveys its own catalog (`postgres/survey.py`, `sqlite/survey.py`)
into these values; the workspace's scaffold proposes keys and cursors from them, and
`ddl.py` derives destination tables from them.
"""

from __future__ import annotations

from dataclasses import dataclass

from syncwell.connectors._table import Table

__all__ = ["SurveyedTable"]


@dataclass(frozen=True, slots=True)
class SurveyedTable:
    """One table as its database's catalog describes it.

    Attributes:
        name: the table's name, unquoted and unqualified.
        table: its columns, declared types, unique keys and NOT NULL columns.
        primary_key: the primary key's columns in index order; empty when it has none.
        indexes: the columns of each plain (not partial, not expression) index, in order.
        foreign_types: columns whose type belongs to the database itself (an enum, a domain,
            an extension's type): another database may not know it.
        rows: the catalog's row estimate; None when the database has not counted yet.
    """

    name: str
    table: Table
    primary_key: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...]
    foreign_types: frozenset[str] = frozenset()
    rows: int | None = None

    def leads_an_index(self, column: str) -> bool:
        """Whether an index starts with `column`, so reads ordered by it can use the index."""
        return any(index[:1] == (column,) for index in self.indexes)
