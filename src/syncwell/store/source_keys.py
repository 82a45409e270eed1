"""The key ledger: which keys each flow's source holds, and a digest of each where compared.

Two jobs need it. A source that keeps no tombstones (most APIs, and hard deletes in a table)
only shows a delete by a key's absence: a complete pass over its keys (a key scan, or a whole
read of a source without a cursor) marks every key it sees with the pass's number, and a key
left with an older number is gone. And a record that has no cursor to tell whether it changed
(no cursor column, or a NULL one) is compared by a digest of its values instead.

The ledger lives in the store, not in memory, so a scan of ten million keys costs a page of
keys in Python at a time, and a crash in the middle of a pass resumes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy import Connection, delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from syncwell.store.database import store_errors
from syncwell.store.schema import key_passes, source_keys
from syncwell.store.upsert import upsert

__all__ = ["KeyNote", "KeyPass", "SeenKey", "SourceKeys", "note_keys"]

log = structlog.get_logger("syncwell.store")

_CHUNK = 500
"""Keys per IN list or per listing page: bounded statements whatever the ledger's size."""


@dataclass(frozen=True, slots=True)
class SeenKey:
    """One key a pass saw: its text (as in dead letters), its packed values, and a digest of
    the record's values where the flow compares them (None where its cursor tells instead)."""

    key: str
    values: bytes
    digest: bytes | None = None
    page: str | None = None
    """The source's page the key was seen on, where the source names its pages."""


@dataclass(frozen=True, slots=True)
class KeyNote:
    """What one page of a read says of a flow's keys, committed with its journal entry."""

    flow: str
    pass_no: int
    seen: Sequence[SeenKey] = ()
    forgotten: Sequence[str] = ()
    """Keys journaled as deleted in the same transaction: the ledger no longer holds them."""


@dataclass(frozen=True, slots=True)
class KeyPass:
    """A flow's pass over its source's keys."""

    flow: str
    number: int
    started_at: float
    finished_at: float | None
    held: str | None
    """Why the last pass's deletes were held back (a guard); None when they were not."""


class SourceKeys:
    """Reads and writes the key ledger (`source_keys`) and its passes (`key_passes`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._grown = 0
        self._analysed_at_size = 0

    @store_errors
    async def current(self, flow: str, *, at: float, shape: str) -> KeyPass:
        """The flow's pass under way; the first one begins `at` (Unix seconds).

        `shape` names what the keys are of (the source, stream and key columns). When it
        differs from the ledger's, the ledger is of other keys: it is dropped and starts
        anew, or every key of the old shape would look deleted.
        """
        async with self._engine.begin() as connection:
            row = (
                await connection.execute(select(key_passes).where(key_passes.c.flow == flow))
            ).first()
            if row is not None and row.shape == shape:
                return KeyPass(row.flow, row.pass_no, row.started_at, row.finished_at, row.held)
            if row is not None:
                log.warning("the flow's keys changed: its key ledger starts anew", flow=flow)
                await connection.execute(delete(source_keys).where(source_keys.c.flow == flow))
                await connection.execute(delete(key_passes).where(key_passes.c.flow == flow))
            await connection.execute(
                insert(key_passes).values(flow=flow, pass_no=1, started_at=at, shape=shape)
            )
        return KeyPass(flow, 1, at, None, None)

    @store_errors
    async def digests(self, flow: str, keys: Iterable[str]) -> dict[str, bytes | None]:
        """The stored digest of each of `keys` the ledger holds (others are left out)."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, bytes | None] = {}
        table = source_keys.c
        async with self._engine.connect() as connection:
            for start in range(0, len(wanted), _CHUNK):
                query = select(table.key, table.digest).where(
                    table.flow == flow, table.key.in_(wanted[start : start + _CHUNK])
                )
                found.update(
                    (key, digest) for key, digest in (await connection.execute(query)).all()
                )
        return found

    @store_errors
    async def mark(
        self, flow: str, pass_no: int, keys: Mapping[str, object], pack: Callable[[object], bytes]
    ) -> None:
        """Note that a scan saw `keys` (text to values) in pass `pass_no`.

        Keys the ledger holds are marked by one UPDATE per chunk; only keys new to it are
        packed (`pack`) and inserted, so a scan of a known source costs no per-key encoding.
        """
        texts = list(keys)
        table = source_keys.c
        inserted = 0
        async with self._engine.begin() as connection:
            for start in range(0, len(texts), _CHUNK):
                chunk = texts[start : start + _CHUNK]
                marked = await connection.execute(
                    update(source_keys)
                    .where(table.flow == flow, table.key.in_(chunk))
                    .values(pass_no=pass_no)
                )
                if marked.rowcount == len(chunk):
                    continue
                held = select(table.key).where(table.flow == flow, table.key.in_(chunk))
                known = set((await connection.execute(held)).scalars())
                rows = [
                    _row(flow, pass_no, SeenKey(text, pack(keys[text])))
                    for text in chunk
                    if text not in known
                ]
                await connection.execute(insert(source_keys), rows)
                inserted += len(rows)
        await self.grew(inserted)

    @store_errors
    async def grew(self, keys: int) -> None:
        """Note that up to `keys` keys joined the ledger. On PostgreSQL, once it has grown by
        a fifth since the planner last looked, refresh its statistics: on stale ones (a
        ledger that was empty an hour ago) it finds each page of keys by scanning the flow's
        whole ledger instead of probing the primary key, and a scan of a million keys slows
        from seconds to minutes (bench/key_scan.py)."""
        if self._engine.dialect.name != "postgresql" or keys <= 0:
            return
        self._grown += keys
        if self._grown < max(10_000, self._analysed_at_size // 5):
            return
        async with self._engine.begin() as connection:
            await connection.execute(text("ANALYZE source_keys"))
        self._analysed_at_size += self._grown
        self._grown = 0

    @store_errors
    async def mark_page(self, flow: str, pass_no: int, page: str) -> int:
        """Note that the keys last seen on `page` are all still there (the source said the
        page had not changed); how many that is."""
        table = source_keys.c
        async with self._engine.begin() as connection:
            marked = await connection.execute(
                update(source_keys)
                .where(table.flow == flow, table.page == page)
                .values(pass_no=pass_no)
            )
        return int(marked.rowcount)

    @store_errors
    async def count(self, flow: str, *, before_pass: int | None = None) -> int:
        """Keys the ledger holds for `flow` (only those no pass since `before_pass` saw)."""
        query = select(func.count()).where(source_keys.c.flow == flow)
        if before_pass is not None:
            query = query.where(source_keys.c.pass_no < before_pass)
        async with self._engine.connect() as connection:
            return int(await connection.scalar(query) or 0)

    @store_errors
    async def unseen(self, flow: str, pass_no: int, limit: int) -> list[tuple[str, bytes]]:
        """Up to `limit` keys (text, packed values) that pass `pass_no` has not seen."""
        table = source_keys.c
        query = (
            select(table.key, table.key_values)
            .where(table.flow == flow, table.pass_no < pass_no)
            .order_by(table.key)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            return [(key, values) for key, values in (await connection.execute(query)).all()]

    @store_errors
    async def finish(self, flow: str, pass_no: int, *, held: str | None, at: float) -> None:
        """End pass `pass_no`: the next one begins, unless its deletes were `held` back (then
        the pass goes on, so the keys it did not see stay unseen until a pass clears them)."""
        table = key_passes.c
        values: dict[str, object] = {"finished_at": at, "held": held}
        if held is None:
            values |= {"pass_no": pass_no + 1, "started_at": at}
        async with self._engine.begin() as connection:
            await connection.execute(
                update(key_passes)
                .where(table.flow == flow, table.pass_no == pass_no)
                .values(values)
            )


def note_keys(connection: Connection, note: KeyNote) -> None:
    """Apply `note` in the caller's transaction (the journal entry's)."""
    rows = [_row(note.flow, note.pass_no, key) for key in note.seen]
    for start in range(0, len(rows), _CHUNK):
        upsert(
            connection,
            source_keys,
            rows[start : start + _CHUNK],
            keys=("flow", "key"),
            update=("pass_no", "digest", "page"),
        )
    gone = list(note.forgotten)
    table = source_keys.c
    for start in range(0, len(gone), _CHUNK):
        connection.execute(
            delete(source_keys).where(
                table.flow == note.flow, table.key.in_(gone[start : start + _CHUNK])
            )
        )


def _row(flow: str, pass_no: int, seen: SeenKey) -> dict[str, object]:
    return {
        "flow": flow,
        "key": seen.key,
        "key_values": seen.values,
        "digest": seen.digest,
        "pass_no": pass_no,
        "page": seen.page,
    }
