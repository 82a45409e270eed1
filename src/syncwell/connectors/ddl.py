"""A destination table derived from a source table: column types mapped between databases.

`syncwell tables` prints (and with `--create` runs) the CREATE TABLE of each flow's
destination table that does not exist yet. Types keep their meaning and never lose a value:
between two PostgreSQL databases a type is kept as declared; towards SQLite it becomes the
storage class the SQLite connector writes that value as (times and JSON as text, numeric as
text so no digit is lost); from SQLite it becomes the PostgreSQL type its affinity holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from syncwell.connectors._sql import column_list, quote

__all__ = ["DatabaseKind", "DestinationColumn", "create_table", "map_type"]

DatabaseKind = Literal["postgres", "sqlite"]


@dataclass(frozen=True, slots=True)
class DestinationColumn:
    """One column of a table to create: its name, its type, and why it differs from the source."""

    name: str
    type: str
    note: str = ""


_PG_TO_SQLITE_INTEGER = ("smallint", "integer", "bigint", "boolean")
_PG_TO_SQLITE_REAL = ("real", "double precision")


def map_type(
    declared: str, source: DatabaseKind, destination: DatabaseKind, *, foreign: bool = False
) -> DestinationColumn:
    """The destination type of a source column declared `declared` (name left empty).

    `foreign` marks a PostgreSQL type of the source database's own (an enum, a domain, an
    extension's): another database may not have it, so it travels as text.
    """
    if source == "postgres" and foreign:
        kept = "text" if destination == "postgres" else "TEXT"
        return DestinationColumn("", kept, f"{declared} in the source: a type of its own")
    if source == destination:
        return DestinationColumn("", declared)
    if source == "postgres":
        return DestinationColumn("", _sqlite_for(declared))
    return _postgres_for(declared)


def _sqlite_for(declared: str) -> str:
    """SQLite's storage class for a PostgreSQL value, as the SQLite connector writes it."""
    if declared.endswith("]"):
        return "TEXT"  # an array is written as JSON
    if declared in _PG_TO_SQLITE_INTEGER:
        return "INTEGER"
    if declared in _PG_TO_SQLITE_REAL:
        return "REAL"
    if declared == "bytea":
        return "BLOB"
    # text, varchar, uuid, json(b), numeric (kept exact as text), dates and times (ISO text).
    return "TEXT"


def _postgres_for(declared: str) -> DestinationColumn:
    """The PostgreSQL type that holds what a SQLite column of this declared type holds."""
    upper = declared.upper()
    # SQLite's affinity rules, in its own order (https://sqlite.org/datatype3.html, 3.1).
    if "INT" in upper:
        return DestinationColumn("", "bigint")
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return DestinationColumn("", "text")
    if "BLOB" in upper:
        return DestinationColumn("", "bytea")
    if not upper:
        return DestinationColumn("", "text", "no declared type in the source: any value")
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return DestinationColumn("", "double precision")
    if "BOOL" in upper:
        return DestinationColumn("", "boolean")
    if "DATE" in upper or "TIME" in upper:
        return DestinationColumn("", "text", f"{declared} in the source: SQLite keeps it as text")
    return DestinationColumn("", "numeric")


def create_table(table: str, columns: Sequence[DestinationColumn], key: Sequence[str]) -> str:
    """The CREATE TABLE statement: `table` as SQL names it, the key NOT NULL and primary."""
    lines = []
    for column in columns:
        not_null = " NOT NULL" if column.name in key else ""
        note = f"  -- {column.note}" if column.note else ""
        lines.append((f"  {quote(column.name)} {column.type}".rstrip() + not_null, note))
    lines.append((f"  PRIMARY KEY ({column_list(key)})", ""))
    body = "\n".join(
        text + ("," if index < len(lines) - 1 else "") + note
        for index, (text, note) in enumerate(lines)
    )
    return f"CREATE TABLE {table} (\n{body}\n);"
