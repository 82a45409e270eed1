"""SQL text shared by the database connectors: quoted identifiers and key/version predicates.

Identifiers come from syncwell.yaml and the database's own catalog, never from record data;
they are still quoted, so a column called "order" or "Email" works.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["column_list", "quote", "row_of"]


def quote(identifier: str) -> str:
    """`identifier` as a double-quoted SQL identifier (PostgreSQL and SQLite agree on this)."""
    return '"' + identifier.replace('"', '""') + '"'


def column_list(columns: Sequence[str], prefix: str = "") -> str:
    """`a, b, c` quoted, each optionally as `prefix.a`."""
    lead = f"{prefix}." if prefix else ""
    return ", ".join(lead + quote(column) for column in columns)


def row_of(columns: Sequence[str], prefix: str = "") -> str:
    """A row value `(p.a, p.b)` for comparing several columns at once."""
    return f"({column_list(columns, prefix)})"
