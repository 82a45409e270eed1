"""The tables of one PostgreSQL schema, for `syncwell init` and `syncwell tables`."""

from __future__ import annotations

import asyncpg

from syncwell.connectors._sql import quote
from syncwell.connectors.postgres.catalog import describe
from syncwell.connectors.survey import SurveyedTable

__all__ = ["survey", "survey_table", "table_exists"]

# Ordinary and partitioned tables, not partitions (their parent is the table to sync), and not
# the tombstone tables the destination keeps beside its targets.
_TABLES = r"""
SELECT c.relname, c.reltuples::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND c.relname NOT LIKE '\_syncwell\_%'
ORDER BY c.relname
"""

_INDEXES = """
SELECT i.indisprimary, array_agg(a.attname ORDER BY k.ord)
FROM pg_index i
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = to_regclass($1) AND i.indpred IS NULL AND i.indexprs IS NULL
GROUP BY i.indexrelid, i.indisprimary
ORDER BY i.indisprimary DESC, i.indexrelid
"""

_FOREIGN_TYPES = """
SELECT a.attname
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
  AND t.typnamespace <> 'pg_catalog'::regnamespace
"""

_EXISTS = "SELECT to_regclass($1) IS NOT NULL"


async def survey(connection: asyncpg.Connection, schema: str, system: str) -> list[SurveyedTable]:
    """Every table of `schema`, by name."""
    found = await connection.fetch(_TABLES, schema)
    return [await survey_table(connection, schema, row[0], system, row[1]) for row in found]


async def survey_table(
    connection: asyncpg.Connection, schema: str, name: str, system: str, rows: int = -1
) -> SurveyedTable:
    """One table; a missing one fails with the fix, as the connector's own `describe` does."""
    table = await describe(connection, schema, name, system)
    indexes = await connection.fetch(_INDEXES, table.name)
    primary = [tuple(row[1]) for row in indexes if row[0]]
    foreign = await connection.fetch(_FOREIGN_TYPES, table.name)
    return SurveyedTable(
        name=name,
        table=table,
        primary_key=primary[0] if primary else (),
        indexes=tuple(tuple(row[1]) for row in indexes),
        foreign_types=frozenset(row[0] for row in foreign),
        rows=rows if rows >= 0 else None,  # -1: never analysed (PostgreSQL 14 and later)
    )


async def table_exists(connection: asyncpg.Connection, schema: str, name: str) -> bool:
    """Whether `schema.name` is a table (or anything else by that name) already."""
    return bool(await connection.fetchval(_EXISTS, f"{quote(schema)}.{quote(name)}"))
