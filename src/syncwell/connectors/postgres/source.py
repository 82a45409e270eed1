"""Reading a PostgreSQL table: a first full read by key, then incremental reads by cursor.

The full read pages by key (keyset pagination on the primary key), after noting the highest
cursor value at its start; the incremental reads then page by (cursor, key) from there. Each
read starts again `lookback` behind its position when rows appeared or changed inside that
window since the last read (a count and hash of the window tells), because a transaction that
commits late carries a cursor value older than rows already read (DESIGN.md, lessons).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence

import asyncpg

from syncwell import copytext
from syncwell.connectors._sql import column_list, quote, row_of
from syncwell.connectors.postgres.catalog import Table, describe, is_time, not_null_fix
from syncwell.connectors.postgres.errors import translated
from syncwell.connectors.postgres.settings import Settings
from syncwell.errors import IntegrationFatalError
from syncwell.types import ChangeBatch, Checkpoint, JSONValue, Row, StreamSpec

__all__ = ["PostgresSource"]


def _text(value: object) -> str:
    """A value as text PostgreSQL parses back to the same value (`$1::text::<type>`)."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _strings(value: JSONValue) -> list[str] | None:
    """A checkpoint's list of texts (None when absent)."""
    return (
        None
        if value is None
        else [str(item) for item in value]
        if isinstance(value, list)
        else [str(value)]
    )


def _params(columns: Sequence[str], table: Table, start: int = 1) -> str:
    casts = (f"${start + i}::text::{table.types[column]}" for i, column in enumerate(columns))
    return "(" + ", ".join(casts) + ")"


class PostgresSource:
    """The `Source` of a ``kind: postgres`` system."""

    def __init__(self, name: str, settings: Settings, pool: asyncpg.Pool) -> None:
        self._name = name
        self._settings = settings
        self._pool = pool
        self._tables: dict[str, Table] = {}

    async def aclose(self) -> None:
        await self._pool.close()

    async def estimate(self, stream: StreamSpec) -> int | None:
        """The planner's row count (cheap, roughly right); a real count if never analysed."""
        table = await self._table(stream)
        with translated(self._name):
            count = await self._pool.fetchval(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass($1)",
                table.name,
            )
            if count is None or count < 0:  # -1: the table was never vacuumed or analysed
                count = await self._pool.fetchval(f"SELECT count(*) FROM {table.name}")
        return None if count is None else int(count)

    async def read(
        self, stream: StreamSpec, checkpoint: Checkpoint | None
    ) -> AsyncIterator[tuple[ChangeBatch, Checkpoint]]:
        table = await self._table(stream)
        # One snapshot for the whole read: the window digest stored at its end then describes
        # exactly the rows the pages saw, so a transaction committing during the read changes
        # the digest and is caught by the next read's look-back.
        with translated(self._name):
            async with (
                self._pool.acquire() as connection,
                connection.transaction(isolation="repeatable_read", readonly=True),
            ):
                if checkpoint is None or checkpoint.get("phase") == "full":
                    reading = self._full(connection, stream, table, checkpoint)
                else:
                    reading = self._incremental(connection, stream, table, checkpoint)
                async with contextlib.aclosing(reading):  # its reads end before the connection
                    async for batch, mark in reading:
                        yield batch, mark

    async def keys(self, stream: StreamSpec) -> AsyncIterator[Sequence[Row]]:
        """Every key of the table, a page at a time, by its primary key (a key scan).

        One repeatable-read snapshot: the listing is of one moment, never a mix of two.
        """
        table = await self._table(stream)
        select = f"SELECT {column_list(stream.key)} FROM {table.name}"
        order = f"ORDER BY {column_list(stream.key)} LIMIT {int(stream.batch_size)}"
        keyset = f"{select} WHERE {row_of(stream.key)} > {_params(stream.key, table)} {order}"
        query, after = f"{select} {order}", None
        with translated(self._name):
            async with (
                self._pool.acquire() as connection,
                connection.transaction(isolation="repeatable_read", readonly=True),
            ):
                while True:
                    records = await connection.fetch(query, *(after or []))
                    if not records:
                        return
                    rows = [tuple(record) for record in records]
                    yield rows
                    query, after = keyset, [_text(value) for value in rows[-1]]

    async def _table(self, stream: StreamSpec) -> Table:
        if stream.name not in self._tables:
            with translated(self._name):
                async with self._pool.acquire() as connection:
                    table = await describe(
                        connection, self._settings.db_schema, stream.name, self._name
                    )
            named = [*stream.key, *filter(None, (stream.cursor, stream.version)), *stream.columns]
            table.check_columns(list(dict.fromkeys(named)), "source", self._name)  # each once
            table.check_key(stream.key, self._name, not_null_fix(table, stream.key))
            self._tables[stream.name] = table
        return self._tables[stream.name]

    def _columns(self, stream: StreamSpec, table: Table) -> tuple[str, ...]:
        return stream.columns or tuple(table.types)

    async def _full(
        self,
        connection: asyncpg.Connection,
        stream: StreamSpec,
        table: Table,
        checkpoint: Checkpoint | None,
    ) -> AsyncGenerator[tuple[ChangeBatch, Checkpoint], None]:
        since: JSONValue
        if checkpoint is None:
            since = await self._high_water(connection, stream, table)
            after = None
        else:
            since = checkpoint.get("since")
            after = _strings(checkpoint.get("after"))
        select = f"SELECT {column_list(self._columns(stream, table))} FROM {table.name}"
        order = f"ORDER BY {column_list(stream.key)} LIMIT {int(stream.batch_size)}"
        first = f"{select} {order}"
        keyset = f"{select} WHERE {row_of(stream.key)} > {_params(stream.key, table)} {order}"
        columns = self._columns(stream, table)
        key_at = [columns.index(column) for column in stream.key]
        queries = (first if after is None else keyset, keyset)
        pages = self._pages(connection, stream, columns, queries, after, key_at)
        async with contextlib.aclosing(pages):
            async for batch, last_key in pages:
                after_key: list[JSONValue] = list(last_key)
                yield batch, {"phase": "full", "after": after_key, "since": since}
        done: Checkpoint = (
            {"phase": "incremental", "cursor": since, "key": None, "window": None}
            if stream.cursor is not None
            else {"phase": "full", "after": None, "since": None}
        )
        yield ChangeBatch(columns, []), done

    async def _incremental(
        self,
        connection: asyncpg.Connection,
        stream: StreamSpec,
        table: Table,
        checkpoint: Checkpoint,
    ) -> AsyncGenerator[tuple[ChangeBatch, Checkpoint], None]:
        assert stream.cursor is not None, "incremental reads need a cursor column"
        found, key = checkpoint.get("cursor"), _strings(checkpoint.get("key"))
        cursor = None if found is None else str(found)
        columns = self._columns(stream, table)
        order_by = (stream.cursor, *stream.key)
        position_at = [columns.index(column) for column in order_by]
        select = f"SELECT {column_list(columns)} FROM {table.name}"
        order = f"ORDER BY {column_list(order_by)} LIMIT {int(stream.batch_size)}"
        keyset = f"{select} WHERE {row_of(order_by)} > {_params(order_by, table)} {order}"
        if cursor is None:
            first, start = f"{select} WHERE {quote(stream.cursor)} IS NOT NULL {order}", None
        elif key is not None and checkpoint.get("window") == await self._window(
            connection, stream, table, [cursor, *key]
        ):
            first, start = keyset, [cursor, *key]
        else:
            back = self._lookback(stream, table)
            first = f"{select} WHERE {quote(stream.cursor)} >= {_params([stream.cursor], table)}"
            first, start = f"{first} {back} {order}", [cursor]
        position: list[str] | None = None
        queries = (first, keyset)
        pages = self._pages(connection, stream, columns, queries, start, position_at)
        async with contextlib.aclosing(pages):
            async for batch, position in pages:
                yield batch, _incremental_mark(position, None)
        if position is None:
            if cursor is None or key is None:
                return
            position = [cursor, *key]
        window = await self._window(connection, stream, table, position)
        yield ChangeBatch(columns, []), _incremental_mark(position, window)

    async def _pages(
        self,
        connection: asyncpg.Connection,
        stream: StreamSpec,
        columns: tuple[str, ...],
        queries: tuple[str, str],
        start: list[str] | None,
        position_at: list[int],
    ) -> AsyncGenerator[tuple[ChangeBatch, list[str]], None]:
        """Pages with the position after each; the next page is fetched while the engine
        journals this one."""

        async def fetch(query: str, args: list[str]) -> tuple[ChangeBatch, list[str]] | None:
            with translated(self._name):
                if stream.copy_text:
                    return await _copy_page(connection, query, args, position_at, columns)
                records = await connection.fetch(query, *args)
            if not records:
                return None
            rows = [tuple(record) for record in records]
            position = [_text(rows[-1][i]) for i in position_at]
            return _batch(columns, rows), position

        first, keyset = queries
        pending = asyncio.ensure_future(fetch(first, start or []))
        previous: list[str] | None = None
        try:
            while page := await pending:
                batch, position = page
                if position == previous:
                    raise IntegrationFatalError(
                        f"the read made no progress at position {position}: a cursor or key "
                        "value (such as 'infinity') does not survive the round trip; exclude "
                        "such rows or choose another cursor column",
                        system=self._name,
                    )
                previous = position
                pending = asyncio.ensure_future(fetch(keyset, position))
                yield batch, position
        finally:
            # One operation at a time on the connection: the page read ahead ends before the
            # transaction's ROLLBACK (cancelling it mid-COPY left asyncpg's protocol busy for
            # that statement), and its failure, if any, is retrieved.
            await asyncio.wait({pending})
            if not pending.cancelled():
                pending.exception()

    async def _high_water(
        self, connection: asyncpg.Connection, stream: StreamSpec, table: Table
    ) -> str | None:
        if stream.cursor is None:
            return None
        query = f"SELECT max({quote(stream.cursor)})::text FROM {table.name}"
        with translated(self._name):
            value = await connection.fetchval(query)
        return None if value is None else str(value)

    def _lookback(self, stream: StreamSpec, table: Table) -> str:
        assert stream.cursor is not None
        if not is_time(table, stream.cursor) or stream.lookback_s <= 0:
            return ""
        seconds = float(stream.lookback_s)
        return f"- interval '{seconds} seconds'"

    async def _window(
        self,
        connection: asyncpg.Connection,
        stream: StreamSpec,
        table: Table,
        position: list[str],
    ) -> str:
        """A count and hash of the rows in the look-back window behind `position`.

        Unchanged since the last read means no transaction committed late into the window,
        so the read can start right after `position` instead of re-reading the window.
        """
        assert stream.cursor is not None
        order_by = (stream.cursor, *stream.key)
        since = f"{_params([stream.cursor], table)} {self._lookback(stream, table)}"
        lower = f"{quote(stream.cursor)} >= {since}"
        upper = f"{row_of(order_by)} <= {_params(order_by, table, start=2)}"
        query = (
            f"SELECT count(*)::text || ':' || coalesce(sum(hashtextextended("
            f"{row_of(order_by)}::text, 0)), 0)::text FROM {table.name} "
            f"WHERE {lower} AND {upper}"
        )
        with translated(self._name):
            return str(await connection.fetchval(query, position[0], *position))


def _incremental_mark(position: list[str], window: str | None) -> Checkpoint:
    key: list[JSONValue] = list(position[1:])
    return {"phase": "incremental", "cursor": position[0], "key": key, "window": window}


async def _copy_page(
    connection: asyncpg.Connection,
    query: str,
    args: list[str],
    position_at: list[int],
    columns: tuple[str, ...],
) -> tuple[ChangeBatch, list[str]] | None:
    """One page as PostgreSQL text COPY, and the position its last line holds."""
    chunks: list[bytes] = []

    async def sink(chunk: bytes) -> None:
        chunks.append(chunk)

    await connection.copy_from_query(query, *args, output=sink, format="text")
    data = b"".join(chunks)
    if not data:
        return None
    last = copytext.parse_line(data[data.rfind(b"\n", 0, len(data) - 1) + 1 : -1])
    position = [str(last[i]) for i in position_at]
    return ChangeBatch(columns, (), None, time.time(), data), position


def _batch(columns: tuple[str, ...], rows: list[Row]) -> ChangeBatch:
    return ChangeBatch(columns, rows, None, time.time())
