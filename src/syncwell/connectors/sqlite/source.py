"""Reading a SQLite table: a first full read by key, then incremental reads by cursor.

The same plan as the postgres source (see its docstring): keyset pages, a look-back window
re-read only when a count and hash of it changed since the last read.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from functools import partial

from syncwell.connectors._sql import column_list, quote, row_of
from syncwell.connectors.sqlite.database import SqliteDatabase
from syncwell.connectors.sqlite.schema import NOT_NULL_FIX, Table, describe
from syncwell.types import ChangeBatch, Checkpoint, JSONValue, Row, StreamSpec

__all__ = ["SqliteSource"]


def _declared(table: Table, column: str) -> str:
    return table.types.get(column, "").upper()


def _behind(value: JSONValue, seconds: float, declared: str) -> JSONValue:
    """`value` moved back by `seconds` when it is a time; otherwise `value` itself."""
    if seconds <= 0:
        return value
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        separator = "T" if "T" in value else " "
        return (moment - dt.timedelta(seconds=seconds)).isoformat(sep=separator)
    if isinstance(value, int | float) and ("TIME" in declared or "DATE" in declared):
        return value - seconds
    return value


class SqliteSource:
    """The `Source` of a ``kind: sqlite`` system."""

    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database
        self._tables: dict[str, Table] = {}
        self._reading = asyncio.Lock()

    async def aclose(self) -> None:
        await self._db.close()

    async def estimate(self, stream: StreamSpec) -> int | None:
        table = await self._table(stream)
        query = f"SELECT count(*) FROM {table.name}"
        return int(await self._db.run(lambda c: c.execute(query).fetchone()[0]))

    async def read(
        self, stream: StreamSpec, checkpoint: Checkpoint | None
    ) -> AsyncIterator[tuple[ChangeBatch, Checkpoint]]:
        # One read transaction (a WAL snapshot) per read, as in the postgres source: the window
        # digest taken at the end then covers exactly the rows the pages saw. Reads of one file
        # take turns, since they share its connection.
        async with self._reading:
            await self._db.run(_begin)
            try:
                async for batch, mark in self._read(stream, checkpoint):
                    yield batch, mark
            finally:
                await self._db.run(_end)

    async def _read(
        self, stream: StreamSpec, checkpoint: Checkpoint | None
    ) -> AsyncIterator[tuple[ChangeBatch, Checkpoint]]:
        table = await self._table(stream)
        columns = stream.columns or table.columns
        if checkpoint is None or checkpoint.get("phase") == "full":
            since = await self._high_water(stream) if checkpoint is None else checkpoint["since"]
            after = None if checkpoint is None else checkpoint.get("after")
            resume = after if isinstance(after, list) else None
            async for rows, last_key in self._pages(stream, columns, stream.key, resume):
                yield _batch(columns, rows), {"phase": "full", "after": last_key, "since": since}
            done: Checkpoint = {"phase": "incremental", "cursor": since, "key": None}
            if stream.cursor is None:
                done = {"phase": "full", "after": None, "since": None}
            yield ChangeBatch(columns, []), done
            return
        assert stream.cursor is not None, "incremental reads need a cursor column"
        order_by = (stream.cursor, *stream.key)
        cursor, key = checkpoint.get("cursor"), checkpoint.get("key")
        start: list[JSONValue] | None = None
        lower: JSONValue = None
        if cursor is not None and isinstance(key, list):
            start = [cursor, *key]
            if checkpoint.get("window") != await self._window(stream, table, start):
                start, lower = (
                    None,
                    _behind(cursor, stream.lookback_s, _declared(table, stream.cursor)),
                )
        elif cursor is not None:
            lower = _behind(cursor, stream.lookback_s, _declared(table, stream.cursor))
        position: list[JSONValue] | None = start
        async for rows, position in self._pages(stream, columns, order_by, start, lower):
            mark = {"phase": "incremental", "cursor": position[0], "key": position[1:]}
            yield _batch(columns, rows), {**mark, "window": None}
        if position is not None:
            window = await self._window(stream, table, position)
            final = {"phase": "incremental", "cursor": position[0], "key": position[1:]}
            yield ChangeBatch(columns, []), {**final, "window": window}

    async def keys(self, stream: StreamSpec) -> AsyncIterator[Sequence[Row]]:
        """Every key of the table, a page at a time, by its primary key (a key scan)."""
        await self._table(stream)
        async with self._reading:  # one read transaction: the listing is one snapshot
            await self._db.run(_begin)
            try:
                pages = self._pages(stream, stream.key, stream.key, None)
                async for rows, _ in pages:
                    yield rows
            finally:
                await self._db.run(_end)

    async def _table(self, stream: StreamSpec) -> Table:
        if stream.name not in self._tables:
            table = await self._db.run(lambda c: describe(c, stream.name, self._db.name))
            named = [*stream.key, *filter(None, (stream.cursor, stream.version)), *stream.columns]
            table.check_columns(list(dict.fromkeys(named)), "source", self._db.name)  # each once
            table.check_key(stream.key, self._db.name, NOT_NULL_FIX)
            self._tables[stream.name] = table
        return self._tables[stream.name]

    async def _pages(
        self,
        stream: StreamSpec,
        columns: Sequence[str],
        order_by: Sequence[str],
        after: Sequence[JSONValue] | None,
        lower: JSONValue = None,
    ) -> AsyncIterator[tuple[list[Row], list[JSONValue]]]:
        at = [list(columns).index(column) for column in order_by]
        base = f"SELECT {column_list(columns)} FROM {quote(stream.name)}"
        order = f"ORDER BY {column_list(order_by)} LIMIT {int(stream.batch_size)}"
        position = list(after) if after is not None else None
        while True:
            clauses, args = [], []
            if position is not None:
                marks = ", ".join("?" * len(order_by))
                clauses.append(f"{row_of(order_by)} > ({marks})")
                args.extend(position)
            elif lower is not None:
                clauses.append(f"{quote(order_by[0])} >= ?")
                args.append(lower)
            if len(order_by) > len(stream.key):  # incremental: rows without a cursor never show
                clauses.append(f"{quote(order_by[0])} IS NOT NULL")
            where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
            query = f"{base} {where} {order}"
            rows = await self._db.run(partial(_fetch, query=query, args=args))
            if not rows:
                return
            position = [rows[-1][i] for i in at]  # type: ignore[misc]
            yield rows, position

    async def _high_water(self, stream: StreamSpec) -> JSONValue:
        if stream.cursor is None:
            return None
        query = f"SELECT max({quote(stream.cursor)}) FROM {quote(stream.name)}"
        value: JSONValue = await self._db.run(lambda c: c.execute(query).fetchone()[0])
        return value

    async def _window(self, stream: StreamSpec, table: Table, position: list[JSONValue]) -> str:
        """A count and hash of the rows in the look-back window behind `position`."""
        assert stream.cursor is not None
        order_by = (stream.cursor, *stream.key)
        lower = _behind(position[0], stream.lookback_s, _declared(table, stream.cursor))
        marks = ", ".join("?" * len(order_by))
        query = (
            f"SELECT {column_list(order_by)} FROM {quote(stream.name)} "
            f"WHERE {quote(stream.cursor)} >= ? AND {row_of(order_by)} <= ({marks})"
        )

        def digest(connection: sqlite3.Connection) -> str:
            rows = connection.execute(query, [lower, *position]).fetchall()
            return f"{len(rows)}:{hashlib.sha256(repr(sorted(rows)).encode()).hexdigest()[:16]}"

        return await self._db.run(digest)


def _begin(connection: sqlite3.Connection) -> None:
    connection.execute("BEGIN")


def _end(connection: sqlite3.Connection) -> None:
    if connection.in_transaction:
        connection.execute("COMMIT")


def _fetch(connection: sqlite3.Connection, *, query: str, args: list[JSONValue]) -> list[Row]:
    return list(connection.execute(query, args).fetchall())


def _batch(columns: Sequence[str], rows: list[Row]) -> ChangeBatch:
    return ChangeBatch(tuple(columns), rows, None, time.time())
