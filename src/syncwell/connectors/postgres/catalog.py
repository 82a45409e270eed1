"""What the connector learns from PostgreSQL's catalog about a flow's table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from syncwell.connectors._sql import quote
from syncwell.errors import IntegrationFatalError

__all__ = ["Table", "describe"]

_COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
FROM pg_attribute a
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""

_UNIQUE_KEYS = """
SELECT array_agg(a.attname ORDER BY a.attname)
FROM pg_index i
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL
GROUP BY i.indexrelid
"""


@dataclass(frozen=True, slots=True)
class Table:
    """A table's qualified name, its columns with their SQL types, and its unique keys."""

    qualified: str
    types: dict[str, str]
    unique_keys: tuple[frozenset[str], ...]
    not_null: frozenset[str]

    def check_columns(self, columns: Sequence[str], role: str, system: str) -> None:
        """Fail with the fix when a configured column is not in the table."""
        missing = [column for column in columns if column not in self.types]
        if missing:
            raise IntegrationFatalError(
                f"{role} column(s) {', '.join(missing)} not in table {self.qualified}; "
                f"it has: {', '.join(self.types)}. Fix the flow in syncwell.yaml.",
                system=system,
            )

    def check_key(self, key: Sequence[str], system: str) -> None:
        """Fail with the fix when a key column allows NULL: such a record has no identity."""
        nullable = [column for column in key if column not in self.not_null]
        if nullable:
            alter = "; ".join(
                f"ALTER TABLE {self.qualified} ALTER COLUMN {quote(c)} SET NOT NULL"
                for c in nullable
            )
            raise IntegrationFatalError(
                f"key column(s) {', '.join(nullable)} of {self.qualified} allow NULL, and a "
                f"record without a key cannot be synced idempotently; run {alter}, "
                "or choose another key",
                system=system,
            )

    def is_time(self, column: str) -> bool:
        """Whether a look-back in seconds makes sense for this column."""
        return self.types[column].startswith(("timestamp", "date"))


async def describe(connection: asyncpg.Connection, schema: str, name: str, system: str) -> Table:
    """Read a table's columns and unique keys, or fail saying the table is missing."""
    qualified = f"{quote(schema)}.{quote(name)}"
    rows = await connection.fetch(_COLUMNS, qualified)
    if not rows:
        raise IntegrationFatalError(
            f"table {schema}.{name} does not exist (or has no columns); create it or fix the "
            "flow's stream/target in syncwell.yaml",
            system=system,
        )
    keys = await connection.fetch(_UNIQUE_KEYS, qualified)
    return Table(
        qualified,
        {row[0]: row[1] for row in rows},
        tuple(frozenset(row[0]) for row in keys),
        frozenset(row[0] for row in rows if row[2]),
    )
