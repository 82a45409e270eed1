"""Reading written records back from a PostgreSQL table: one SELECT by the batch's keys.

The keys travel as text arrays, one per key column, and are cast to the column's own type in
the join, so the primary key's index finds each record whatever type the source gave them
(a COPY-text batch holds text).
"""

from __future__ import annotations

import asyncpg

from syncwell.connectors._sql import quote
from syncwell.connectors.postgres.catalog import Table
from syncwell.connectors.verify import ABSENT, ReadRecords, key_text, upserted
from syncwell.types import ChangeBatch, StreamSpec

__all__ = ["read_written"]


async def read_written(
    connection: asyncpg.Connection, table: Table, stream: StreamSpec, batch: ChangeBatch
) -> ReadRecords:
    """The batch's upserted records as `table` holds them now (None: not there)."""
    batch = upserted(batch)
    if not len(batch):
        return {}
    at = [batch.columns.index(column) for column in stream.key]
    keys = [[str(row[i]) for i in at] for row in batch.rows]
    wanted = [*batch.columns, *([stream.cursor] if stream.cursor else [])]
    compared = [column for column in dict.fromkeys(wanted) if column in table.types]
    names = [f"k{i}" for i in range(len(at))]
    joined = " AND ".join(
        f"t.{quote(column)} = k.{name}::{table.types[column]}"
        for column, name in zip(stream.key, names, strict=True)
    )
    arrays = ", ".join(f"${i + 1}::text[]" for i in range(len(at)))
    picked = ", ".join([*(f"k.{name}" for name in names), *(f"t.{quote(c)}" for c in compared)])
    sql = (
        f"SELECT {picked} FROM {table.name} t "
        f"JOIN unnest({arrays}) AS k({', '.join(names)}) ON {joined}"
    )
    rows = await connection.fetch(sql, *([key[i] for key in keys] for i in range(len(at))))
    found: dict[str, dict[str, object] | None] = {key_text(key): None for key in keys}
    for row in rows:
        values = list(row.values())
        held = dict(zip(compared, values[len(at) :], strict=True))
        found[key_text(values[: len(at)])] = {
            column: held.get(column, ABSENT) for column in dict.fromkeys(wanted)
        }
    return found
