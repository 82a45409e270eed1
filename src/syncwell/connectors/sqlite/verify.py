"""Reading written records back from a SQLite table: one SELECT by the batch's keys."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from syncwell.connectors._sql import column_list, quote
from syncwell.connectors.sqlite.database import to_sqlite
from syncwell.connectors.sqlite.schema import describe
from syncwell.connectors.verify import ABSENT, ReadRecords, key_text, upserted
from syncwell.types import ChangeBatch, StreamSpec

__all__ = ["read_written"]

_CHUNK = 400
"""Keys per SELECT: SQLite binds at most 32,766 values (999 before 3.32), and a key may have
several columns."""


def read_written(
    connection: sqlite3.Connection, system: str, stream: StreamSpec, batch: ChangeBatch
) -> ReadRecords:
    """The batch's upserted records as the table holds them now (None: not there)."""
    batch = upserted(batch)
    table = describe(connection, stream.name, system)
    wanted = [*batch.columns, *([stream.cursor] if stream.cursor else [])]
    compared = [column for column in dict.fromkeys(wanted) if column in table.types]
    at = [batch.columns.index(column) for column in stream.key]
    keys = [[row[i] for i in at] for row in batch.rows]
    # What SQLite gives back for a key, as text, to find the key that was sent.
    sent = {_stored(key): key_text(key) for key in keys}
    found: dict[str, dict[str, object] | None] = {key_text(key): None for key in keys}
    one = "(" + " AND ".join(f"{quote(column)} = ?" for column in stream.key) + ")"
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        sql = (
            f"SELECT {column_list([*stream.key, *compared])} FROM {table.name} "
            f"WHERE {' OR '.join([one] * len(chunk))}"
        )
        bound = [to_sqlite(value) for key in chunk for value in key]
        for row in connection.execute(sql, bound):
            key = sent.get(_stored(row[: len(at)]))
            if key is None:
                continue
            held = dict(zip(compared, row[len(at) :], strict=True))
            found[key] = {column: held.get(column, ABSENT) for column in dict.fromkeys(wanted)}
    return found


def _stored(key: Sequence[object]) -> tuple[str, ...]:
    return tuple(str(to_sqlite(value)) for value in key)
