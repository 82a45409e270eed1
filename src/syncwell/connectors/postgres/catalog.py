"""What the connector learns from PostgreSQL's catalog about a flow's table."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from syncwell.connectors._sql import quote
from syncwell.connectors._table import Table
from syncwell.errors import MisconfiguredError

__all__ = ["Table", "describe", "is_time", "not_null_fix"]

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


def is_time(table: Table, column: str) -> bool:
    """Whether a look-back in seconds makes sense for this column."""
    return table.types[column].startswith(("timestamp", "date"))


def not_null_fix(table: Table, key: Sequence[str]) -> str:
    """The statements that make a key's columns NOT NULL."""
    return "run " + "; ".join(
        f"ALTER TABLE {table.name} ALTER COLUMN {quote(c)} SET NOT NULL"
        for c in key
        if c not in table.not_null
    )


async def describe(connection: asyncpg.Connection, schema: str, name: str, system: str) -> Table:
    """Read a table's columns and unique keys, or fail saying the table is missing."""
    qualified = f"{quote(schema)}.{quote(name)}"
    rows = await connection.fetch(_COLUMNS, qualified)
    if not rows:
        raise MisconfiguredError(
            f"table {schema}.{name} does not exist (or has no columns); create it or fix the "
            "flow's stream/target in syncwell.yaml (`syncwell tables --create` makes a "
            "flow's missing destination table from its source)",
            system=system,
        )
    keys = await connection.fetch(_UNIQUE_KEYS, qualified)
    return Table(
        qualified,
        {row[0]: row[1] for row in rows},
        tuple(frozenset(row[0]) for row in keys),
        frozenset(row[0] for row in rows if row[2]),
    )
