"""The `Source` of a `mode: cdc` flow: a snapshot, then the table's changes as they commit.

A first read creates the flow's replication slot, which exports a snapshot of the moment its
stream starts; the table is read whole inside that snapshot (SET TRANSACTION SNAPSHOT), then
the stream starts at the slot's starting point, so no change falls between the two and none
is seen twice. Checkpoints:

* ``{"phase": "snapshot", "slot", "lsn", "after"}`` while the snapshot is read. The snapshot
  dies with the connection that exported it, so a read that resumes from here drops the slot
  and begins again with a new one (what was journaled is written again, in a newer version);
* ``{"phase": "incremental", "slot", "lsn"}`` while streaming: ``lsn`` is the end of the last
  transaction journaled. Only once the journal holds it is the slot told (`confirm`), so the
  slot never lets go of WAL the journal does not cover.

A read ends when nothing arrived for `IDLE_S`, as the `Source` protocol asks; the connection
stays open for the next read, which continues where it stopped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg

from syncwell.connectors._sql import column_list, row_of
from syncwell.connectors.postgres.catalog import Table, describe, not_null_fix
from syncwell.connectors.postgres.cdc.names import (
    CaptureNames,
    SlotState,
    check_table,
    prepare_publication,
)
from syncwell.connectors.postgres.cdc.replication import Replication
from syncwell.connectors.postgres.cdc.transactions import Assembler
from syncwell.connectors.postgres.cdc.values import Typist
from syncwell.connectors.postgres.errors import translated
from syncwell.connectors.postgres.pgoutput import format_lsn, parse_lsn
from syncwell.connectors.postgres.settings import Settings
from syncwell.errors import IntegrationFatalError, MisconfiguredError, TransientError
from syncwell.types import ChangeBatch, Checkpoint, JSONValue, Row, StreamSpec

__all__ = ["IDLE_S", "ChangeCapture"]

IDLE_S = 0.5
"""Seconds without a message after which a read ends (and the engine may stop)."""
_MARK_EVERY_S = 5.0
"""How often a stream of other tables' transactions moves the checkpoint (and the slot)."""
_SNAPSHOT_NAME = re.compile(r"^[0-9A-F-]+$")
_SLOT_WAIT_S = 5.0
"""How long a read waits for another process to let go of the flow's slot."""
_WAL_NOW = "SELECT pg_current_wal_lsn() - '0/0'"
"""Where the WAL ends now, as a number."""
_GENERATED = """
SELECT a.attname::text FROM pg_attribute a
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
  AND a.attgenerated <> ''
"""
"""The table's generated columns, which pgoutput does not send (PostgreSQL 12 to 17)."""


@dataclass(slots=True)
class _Stream:
    """An open replication stream and where the journal stands in it."""

    replication: Replication
    assembler: Assembler
    position: int
    marked_at: float


class ChangeCapture:
    """Reads one flow's table by logical replication (`mode: cdc`).

    Connects on first use, so a source down at the start is a failed read, retried like any.

    Args:
        name: the source system's name.
        settings: its settings.
        names: the flow's slot and publication.
        flow: the flow's name, for the fix an error names.
    """

    def __init__(self, name: str, settings: Settings, names: CaptureNames, flow: str = "") -> None:
        self._name = name
        self._flow = flow
        self._settings = settings
        self._names = names
        self._opened: asyncpg.Pool | None = None
        self._table: Table | None = None
        self._stream: _Stream | None = None
        self._typist = Typist(name)

    async def aclose(self) -> None:
        await self._end_stream()
        if self._opened is not None:
            await self._opened.close()

    async def _pool(self) -> asyncpg.Pool:
        """Connections for the snapshot, the catalog and typing values, made when first
        needed."""
        if self._opened is None:
            settings = self._settings
            with translated(self._name):
                self._opened = await asyncpg.create_pool(
                    settings.dsn.get_secret_value(),
                    min_size=1,
                    max_size=2,
                    timeout=settings.connect_timeout_s,
                    server_settings={
                        "statement_timeout": str(int(settings.statement_timeout_s * 1000)),
                        "application_name": f"syncwell:{self._name}:cdc",
                    },
                )
        assert self._opened is not None
        return self._opened

    async def estimate(self, stream: StreamSpec) -> int | None:
        """The planner's row count of the table."""
        table = await self._describe(stream)
        with translated(self._name):
            count = await (await self._pool()).fetchval(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass($1)", table.name
            )
        return None if count is None or count < 0 else int(count)

    async def read(
        self, stream: StreamSpec, checkpoint: Checkpoint | None
    ) -> AsyncIterator[tuple[ChangeBatch, Checkpoint]]:
        streaming = checkpoint is not None and checkpoint.get("phase") == "incremental"
        table = await self._describe(stream, streaming=streaming)
        recorded = None if checkpoint is None else checkpoint.get("slot")
        if recorded is not None and recorded != self._names.slot:
            raise MisconfiguredError(
                f"the journal's position is in replication slot {recorded}, but the flow now "
                f"streams from {self._names.slot}: a position in one slot means nothing in "
                f"another. Name {recorded} again in cdc.slot, or start the flow over from a new "
                "snapshot by clearing its checkpoint (docs/cdc.md)",
                system=self._name,
            )
        try:
            if checkpoint is None or checkpoint.get("phase") != "incremental":
                async for item in self._snapshot(stream, table, checkpoint):
                    yield item
            else:
                await self._resume(stream, parse_lsn(str(checkpoint.get("lsn"))))
            async for item in self._changes(stream, table):
                yield item
        except BaseException:
            # What was received but not journaled is gone with this read: the next one
            # streams again from the journal's position.
            await self._end_stream()
            raise

    async def _describe(self, stream: StreamSpec, *, streaming: bool = False) -> Table:
        if self._table is None:
            with translated(self._name):
                async with (await self._pool()).acquire() as connection:
                    table = await describe(
                        connection, self._settings.db_schema, stream.name, self._name
                    )
                    table = await self._without_generated(connection, stream, table)
                    columns = self._columns(stream, table)
                    # While streaming, a named column may be gone from the catalog with the
                    # changes made before it went still to come: the stream decides then.
                    named = stream.key if streaming else (*stream.key, *columns)
                    table.check_columns(list(dict.fromkeys(named)), "source", self._name)
                    table.check_key(stream.key, self._name, not_null_fix(table, stream.key))
                    await check_table(connection, table, stream.key, columns, self._name)
                    await prepare_publication(
                        connection,
                        self._names,
                        table,
                        (self._settings.db_schema, stream.name),
                        self._name,
                    )
            self._table = table
        return self._table

    async def _without_generated(
        self, connection: asyncpg.Connection, stream: StreamSpec, table: Table
    ) -> Table:
        """The table less its generated columns, which the stream never carries (the snapshot
        does not either, so they are never half carried); a flow naming one is refused."""
        generated = {str(row[0]) for row in await connection.fetch(_GENERATED, table.name)}
        named = sorted(generated.intersection((*stream.key, *stream.columns)))
        if named:
            raise MisconfiguredError(
                f"column(s) {', '.join(named)} of table {table.name} are generated, and "
                "logical replication does not send generated columns: take them out of the "
                "flow's fields (make them generated in the destination too) (docs/cdc.md)",
                system=self._name,
            )
        kept = {column: kind for column, kind in table.types.items() if column not in generated}
        return dataclasses.replace(table, types=kept)

    def _columns(self, stream: StreamSpec, table: Table) -> tuple[str, ...]:
        return stream.columns or tuple(table.types)

    def _mark(self, phase: str, lsn: int, after: list[JSONValue] | None = None) -> Checkpoint:
        mark: dict[str, JSONValue] = {"phase": phase, "slot": self._names.slot}
        mark["lsn"] = format_lsn(lsn)
        if phase == "snapshot":
            mark["after"] = after
        return mark

    async def _slot(self) -> SlotState | None:
        with translated(self._name):
            async with (await self._pool()).acquire() as connection:
                return await SlotState.read(connection, self._names.slot)

    async def _free_slot(self) -> SlotState | None:
        """The flow's slot once no process streams from it: the walsender of a run that just
        ended lets go of it a moment later, so it is waited for, `_SLOT_WAIT_S` at most."""
        deadline = time.monotonic() + _SLOT_WAIT_S
        while True:
            state = await self._slot()
            if state is None or state.active_pid is None:
                return state
            if time.monotonic() > deadline:
                raise TransientError(
                    f"replication slot {self._names.slot} is in use by process "
                    f"{state.active_pid} (another syncwell run of this workspace?); trying "
                    "again",
                    system=self._name,
                )
            await asyncio.sleep(0.1)

    async def _replication(self) -> Replication:
        replication = Replication(
            self._settings.dsn.get_secret_value(), self._name, self._settings.connect_timeout_s
        )
        try:
            await replication.connect()
        except BaseException:
            await replication.aclose()
            raise
        return replication

    async def _snapshot(
        self, stream: StreamSpec, table: Table, checkpoint: Checkpoint | None
    ) -> AsyncIterator[tuple[ChangeBatch, Checkpoint]]:
        """Create the slot, read the table in the snapshot it exported, then start streaming
        at its starting point; or finish a snapshot a crash cut short."""
        await self._end_stream()
        slot = self._names.slot
        state = await self._free_slot()
        if state is not None and checkpoint is not None:
            # A snapshot cut short. Its exported snapshot died with its connection, but the
            # slot still starts where it did: the rest of the table is read as it is now,
            # then the stream from the slot's start brings every change since, deletes of
            # rows already read included. A row read now may meet older changes of itself
            # on the way; a flow's `version:` keeps them from overwriting it (docs/cdc.md).
            start = parse_lsn(str(checkpoint.get("lsn")))
            if state.wal_status == "lost":
                raise self._lost(start, state)
            after = checkpoint.get("after")
            pages = self._pages(stream, table, None, after if isinstance(after, list) else None)
        else:
            if state is not None:
                await self._drop_unknown_slot(checkpoint)
            pages, start = None, 0
        replication = await self._replication()
        try:
            if pages is None:
                created = await replication.create_slot(slot)
                start = created.consistent_point
                if not _SNAPSHOT_NAME.match(created.snapshot):
                    raise IntegrationFatalError(
                        f"unexpected snapshot name {created.snapshot!r}", system=self._name
                    )
                pages = self._pages(stream, table, created.snapshot, None)
            async for batch, after_key in pages:
                yield batch, self._mark("snapshot", start, after_key)
            self._stream = _Stream(replication, self._assembler(stream), start, 0.0)
        except BaseException:
            await replication.aclose()
            raise
        await replication.start(slot, self._names.publication, start)
        yield ChangeBatch(self._columns(stream, table), []), self._mark("incremental", start)
        self._stream.marked_at = time.monotonic()

    async def _drop_unknown_slot(self, checkpoint: Checkpoint | None) -> None:
        """Drop the flow's slot that the journal holds no position in (the state was reset):
        its starting snapshot is gone, so the flow starts anew. A slot a DBA named is
        theirs: refused, saying how to go on."""
        slot = self._names.slot
        if checkpoint is None and self._names.slot_named:
            raise MisconfiguredError(
                f"replication slot {slot} exists, but the journal holds no position in it "
                "and its starting snapshot is gone: drop it (SELECT "
                f"pg_drop_replication_slot('{slot}')) for syncwell to create it with a "
                "snapshot, or name a new one in the flow's cdc.slot",
                system=self._name,
            )
        with translated(self._name):
            await (await self._pool()).execute("SELECT pg_drop_replication_slot($1)", slot)

    def _assembler(self, stream: StreamSpec) -> Assembler:
        schema, name = self._settings.db_schema, stream.name
        return Assembler(schema, name, stream.columns, stream.key, self._name, stream.version)

    async def _pages(
        self,
        stream: StreamSpec,
        table: Table,
        snapshot: str | None,
        after: list[JSONValue] | None,
    ) -> AsyncIterator[tuple[ChangeBatch, list[JSONValue]]]:
        """The table's rows by key after `after`, a page at a time, as the exported snapshot
        `snapshot` sees them (None: a snapshot of now)."""
        columns = self._columns(stream, table)
        key_at = [columns.index(column) for column in stream.key]
        select = f"SELECT {column_list(columns)} FROM {table.name}"
        order = f"ORDER BY {column_list(stream.key)} LIMIT {int(stream.batch_size)}"
        casts = ", ".join(
            f"${i + 1}::text::{table.types[column]}" for i, column in enumerate(stream.key)
        )
        keyset = f"{select} WHERE {row_of(stream.key)} > ({casts}) {order}"
        query = f"{select} {order}" if after is None else keyset
        with translated(self._name):
            async with (
                (await self._pool()).acquire() as connection,
                connection.transaction(isolation="repeatable_read", readonly=True),
            ):
                if snapshot is not None:
                    await connection.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                while True:
                    records = await connection.fetch(query, *(after or []))
                    if not records:
                        return
                    rows: list[Row] = [tuple(record) for record in records]
                    last = rows[-1]
                    after = [str(last[i]) for i in key_at]
                    yield ChangeBatch(columns, rows, None, time.time()), list(after)
                    query = keyset

    async def _resume(self, stream: StreamSpec, position: int) -> None:
        """Stream from `position`, on the open connection when it stands there already."""
        if self._stream is not None and self._stream.position == position:
            return
        await self._end_stream()
        state = await self._free_slot()
        if state is None or state.wal_status == "lost":
            raise self._lost(position, state)
        if state.plugin != "pgoutput":
            raise MisconfiguredError(
                f"replication slot {self._names.slot} uses plugin {state.plugin}, not pgoutput",
                system=self._name,
            )
        replication = await self._replication()
        try:
            await replication.start(self._names.slot, self._names.publication, position)
        except BaseException:
            await replication.aclose()
            raise
        assembler = self._assembler(stream)
        self._stream = _Stream(replication, assembler, position, time.monotonic())

    async def _changes(
        self, stream: StreamSpec, table: Table
    ) -> AsyncIterator[tuple[ChangeBatch, Checkpoint]]:
        """Whole transactions as they commit, until none arrived for `IDLE_S` or the stream
        passed where the WAL stood when the read began (so a read ends under a steady load
        too, and `syncwell run --once` with it)."""
        columns = self._columns(stream, table)
        with translated(self._name):
            target = int(await (await self._pool()).fetchval(_WAL_NOW))
        while True:
            live = self._stream
            assert live is not None
            received = await live.replication.receive(IDLE_S, int(stream.batch_size))
            done = [t for t in live.assembler.feed(received) if t.end_lsn > live.position]
            caught_up = not live.assembler.pending and live.replication.wal_end >= target
            if not done:
                if received and not caught_up:
                    continue
                sent = live.replication.wal_end
                if live.assembler.pending or sent <= live.position:
                    return
                if time.monotonic() - live.marked_at < _MARK_EVERY_S:
                    return
                # Idle, with everything the server sent before `sent` received and none of
                # it for this table (other tables' WAL): the checkpoint follows the slot.
                yield ChangeBatch(columns, []), self._mark("incremental", sent)
                live.position, live.marked_at = sent, time.monotonic()
                await live.replication.confirm(sent)
                return
            end = done[-1].end_lsn
            ours = [t for t in done if t.rows]
            if live.assembler.reshaped:  # the table changed: read its catalog again
                self._table, live.assembler.reshaped = None, False
            if ours or time.monotonic() - live.marked_at >= _MARK_EVERY_S:
                # (other tables' transactions alone wait for the next mark)
                batches = await self._typist.batches(await self._pool(), ours)
                # A table altered in these transactions gives batches of two shapes: the
                # journal's position moves past them with the last.
                for batch in batches[:-1]:
                    yield batch, self._mark("incremental", live.position)
                yield (
                    batches[-1] if batches else ChangeBatch(columns, []),
                    self._mark("incremental", end),
                )
                # The journal holds everything up to `end` now: the slot may let go of it.
                live.position, live.marked_at = end, time.monotonic()
                await live.replication.confirm(end)
            if caught_up:
                return  # everything committed before the read began is journaled

    def _lost(self, position: int, state: SlotState | None) -> IntegrationFatalError:
        """The slot cannot give the changes after the journal's `position` again: the error
        that says so, and how to start over."""
        how = (
            "is gone (dropped by hand)"
            if state is None
            else "was invalidated: PostgreSQL removed WAL it still needed "
            "(max_slot_wal_keep_size; wal_status = 'lost')"
        )
        return IntegrationFatalError(
            f"replication slot {self._names.slot} {how}, so the changes after the journal's "
            f"position {format_lsn(position)} cannot be read again. Stop syncwell and run "
            f"`syncwell cdc reset {self._flow or 'FLOW'}`: the next run takes a new snapshot "
            "in a new slot, and deletes from the destination the rows it no longer finds "
            "(docs/cdc.md, A slot lost)",
            system=self._name,
            flow=self._flow,
        )

    async def _end_stream(self) -> None:
        if self._stream is not None:
            live, self._stream = self._stream, None
            await live.replication.aclose()
