"""The journal: changes taken in, with the checkpoint that covers them, until delivered."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from syncwell.store.codec import decode_batch, encode_batch
from syncwell.store.database import store_errors
from syncwell.store.identities import IdentityChanges, apply_identities
from syncwell.store.leases import Lease, Leases, check_lease
from syncwell.store.record_versions import SeenVersions, note_seen
from syncwell.store.schema import checkpoints, dead_letters, deliveries, journal
from syncwell.store.source_keys import KeyNote, note_keys
from syncwell.types import ChangeBatch, Checkpoint, Op

__all__ = ["DeadLetterDraft", "DeliveryRecord", "Journal", "JournalEntry", "insert_entry"]

log = structlog.get_logger("syncwell.store")


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One batch in the journal."""

    id: int
    flow: str
    batch: ChangeBatch


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """What one delivery did, written with its outcome (never a row per record)."""

    changes: int
    """Changes taken from the journal (before coalescing)."""
    written: int
    """Changes the destination took: delivered."""
    dead_lettered: int
    """Dead letters this delivery made: a change already kept open is not one again."""
    attempts: int
    retries_transient: int
    retries_rate_limited: int
    started_at: float
    finished_at: float
    retries_timeout: int = 0


@dataclass(frozen=True, slots=True)
class DeadLetterDraft:
    """A change the destination refused for good, about to be kept with its reason."""

    key: str
    op: Op
    version: str
    batch: ChangeBatch
    reason: str
    error_class: str
    attempts: int


class Journal:
    """Appends, reads in order, and completes journal entries; holds checkpoints."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.leases = Leases(engine)
        """The transport's partition leases, which fence what `record` records."""

    @store_errors
    async def append(
        self,
        flow: str,
        batch: ChangeBatch,
        checkpoint: Checkpoint | None,
        *,
        seen: SeenVersions | None = None,
        keys: KeyNote | None = None,
    ) -> int | None:
        """Write the batch and the checkpoint that covers it in one transaction.

        With `seen`, the versions a reconciliation read are noted in the same transaction;
        with `keys`, what the read saw of the source's keys (the key ledger).
        Returns the entry's id, or None when the batch was empty (only the checkpoint moved).
        """
        now = time.time()
        async with self._engine.begin() as connection:
            entry_id = None
            if len(batch):
                entry_id = await connection.run_sync(insert_entry, flow, batch, now)
            if checkpoint is not None:
                await _save_checkpoint(connection, flow, checkpoint, now)
            if seen is not None:
                await connection.run_sync(note_seen, seen.system, seen.stream, seen.versions)
            if keys is not None:
                await connection.run_sync(note_keys, keys)
        return entry_id

    @store_errors
    async def checkpoint(self, flow: str) -> Checkpoint | None:
        """The flow's last committed checkpoint, or None before its first read."""
        async with self._engine.connect() as connection:
            value = await connection.scalar(
                select(checkpoints.c.value).where(checkpoints.c.flow == flow)
            )
        mark: Checkpoint | None = None if value is None else json.loads(value)
        return mark

    @store_errors
    async def pending(self, flow: str, *, after: int = 0, max_changes: int) -> list[JournalEntry]:
        """The flow's oldest undelivered entries after id `after`, about `max_changes` in all.

        Always at least one entry when any is pending, so a batch larger than `max_changes`
        still moves.
        """
        sizes = (
            select(journal.c.id, journal.c.changes)
            .where(journal.c.flow == flow, journal.c.id > after)
            .order_by(journal.c.id)
            .limit(max(1, max_changes))
        )
        async with self._engine.connect() as connection:
            # Sizes first, payloads second: two round trips, and never a payload read that is
            # not taken (pages can be megabytes; a row-by-row cursor costs a hop per row).
            ids = _within(list((await connection.execute(sizes)).all()), max_changes)
            if not ids:
                return []
            payloads = select(journal.c.id, journal.c.payload).where(journal.c.id.in_(ids))
            rows = dict((await connection.execute(payloads)).all())
        # An entry dropped between the two reads (delivered by another task) is simply gone.
        return [
            JournalEntry(entry_id, flow, decode_batch(rows[entry_id]))
            for entry_id in ids
            if entry_id in rows
        ]

    @store_errors
    async def complete(
        self,
        flow: str,
        entries: Sequence[JournalEntry],
        record: DeliveryRecord,
        dead: Sequence[DeadLetterDraft] = (),
        identities: IdentityChanges | None = None,
    ) -> None:
        """Mark entries delivered: drop them, record the delivery, its dead letters and the
        ids it learned, at once."""
        ids = [entry.id for entry in entries]
        async with self._engine.begin() as connection:
            await connection.execute(delete(journal).where(journal.c.id.in_(ids)))
            await _record(connection, flow, ids, record, dead, identities)

    @store_errors
    async def record(
        self,
        flow: str,
        entries: Sequence[JournalEntry],
        record: DeliveryRecord,
        dead: Sequence[DeadLetterDraft] = (),
        identities: IdentityChanges | None = None,
        *,
        fence: Lease | None = None,
    ) -> None:
        """Record the delivery of entries that came by a transport (their ids are its
        sequence numbers), its dead letters and ids, at once; the journal has them no more.
        With `fence`, only while that lease holds (else `LeaseLostError`, nothing recorded)."""
        async with self._engine.begin() as connection:
            if fence is not None:
                await check_lease(connection, fence)
            ids = [entry.id for entry in entries]
            await _record(connection, flow, ids, record, dead, identities)

    @store_errors
    async def new_dead_letters(
        self, flow: str, drafts: Sequence[DeadLetterDraft]
    ) -> list[DeadLetterDraft]:
        """Those of `drafts` not kept open already, once each: a change refused again (read
        twice by a look-back window, or by a webhook and a reconciliation) is one dead letter,
        and is counted once."""
        async with self._engine.connect() as connection:
            return await _not_yet_dead(connection, flow, drafts)

    @store_errors
    async def forget(self, ids: Sequence[int]) -> None:
        """Drop entries a transport now holds (published, and acknowledged as stored)."""
        async with self._engine.begin() as connection:
            await connection.execute(delete(journal).where(journal.c.id.in_(list(ids))))

    @store_errors
    async def backlog(self) -> dict[str, tuple[int, int, float | None]]:
        """Per flow: pending entries, pending changes, and the oldest pending change's time."""
        query = select(
            journal.c.flow,
            func.count(),
            func.sum(journal.c.changes),
            func.min(journal.c.observed_at),
        ).group_by(journal.c.flow)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {flow: (entries, int(changes), oldest) for flow, entries, changes, oldest in rows}

    @store_errors
    async def checkpoints(self) -> dict[str, tuple[Checkpoint, float]]:
        """Every flow's checkpoint with the time it was committed."""
        async with self._engine.connect() as connection:
            rows = (await connection.execute(select(checkpoints))).all()
        return {flow: (json.loads(value), at) for flow, value, at in rows}


async def _record(
    connection: AsyncConnection,
    flow: str,
    ids: Sequence[int],
    record: DeliveryRecord,
    dead: Sequence[DeadLetterDraft],
    identities: IdentityChanges | None = None,
) -> None:
    if identities is not None:
        await apply_identities(connection, identities)
    await connection.execute(
        insert(deliveries).values(
            flow=flow, first_entry=min(ids), last_entry=max(ids), **_fields(record)
        )
    )
    fresh = await _not_yet_dead(connection, flow, dead)
    if fresh:
        await connection.execute(
            insert(dead_letters),
            [_dead_letter_row(flow, draft, record.finished_at) for draft in fresh],
        )
    for draft in fresh:  # said as they are kept, in the transaction that keeps them
        log.warning("dead-lettered", flow=flow, key=draft.key, reason=draft.reason)


def _within(sizes: list[tuple[int, int]], max_changes: int) -> list[int]:
    """The ids, in order, of the first entries that hold about `max_changes` changes."""
    taken: list[int] = []
    total = 0
    for entry_id, changes in sizes:
        if taken and total + changes > max_changes:
            break
        taken.append(entry_id)
        total += changes
    return taken


def insert_entry(connection: Connection, flow: str, batch: ChangeBatch, now: float) -> int:
    """Add one journal entry in the caller's transaction; return its id."""
    result = connection.execute(
        insert(journal).values(
            flow=flow,
            changes=len(batch),
            observed_at=batch.observed_at,
            created_at=now,
            payload=encode_batch(batch),
        )
    )
    key = result.inserted_primary_key
    assert key is not None, "an insert into journal returns its id"
    return int(key[0])


async def _save_checkpoint(
    connection: AsyncConnection, flow: str, checkpoint: Checkpoint, now: float
) -> None:
    value = json.dumps(checkpoint, sort_keys=True)
    moved = await connection.execute(
        update(checkpoints).where(checkpoints.c.flow == flow).values(value=value, updated_at=now)
    )
    if moved.rowcount == 0:
        await connection.execute(insert(checkpoints).values(flow=flow, value=value, updated_at=now))


async def _not_yet_dead(
    connection: AsyncConnection, flow: str, drafts: Sequence[DeadLetterDraft]
) -> list[DeadLetterDraft]:
    """The drafts not already kept open, once each: a look-back re-read refuses the same
    record again, and a full read then an incremental one may read it in two shapes (rows,
    or COPY text), so a change with a version is the same change by key, op and version."""
    if not drafts:
        return []
    query = select(
        dead_letters.c.key, dead_letters.c.op, dead_letters.c.version, dead_letters.c.payload
    ).where(
        dead_letters.c.flow == flow,
        dead_letters.c.status == "open",
        dead_letters.c.key.in_([draft.key for draft in drafts]),
    )
    kept = {
        _identity(key, op, version, decode_batch(payload))
        for key, op, version, payload in (await connection.execute(query)).all()
    }
    fresh = []
    for draft in drafts:
        identity = _identity(draft.key, draft.op.value, draft.version, draft.batch)
        if identity not in kept:
            kept.add(identity)
            fresh.append(draft)
    return fresh


def _identity(key: str, op: str, version: str, batch: ChangeBatch) -> tuple[object, ...]:
    """What makes two refused changes the same one."""
    return (key, op, version) if version else (key, op, version, _content(batch))


def _content(batch: ChangeBatch) -> tuple[object, ...]:
    """What a change says, without when it was seen."""
    return (batch.columns, tuple(batch.rows), tuple(batch.ops or ()), batch.copy_text)


def _fields(record: DeliveryRecord) -> dict[str, object]:
    return {name: getattr(record, name) for name in DeliveryRecord.__slots__}


def _dead_letter_row(flow: str, draft: DeadLetterDraft, now: float) -> dict[str, object]:
    return {
        "flow": flow,
        "key": draft.key,
        "op": draft.op.value,
        "version": draft.version,
        "payload": encode_batch(draft.batch),
        "reason": draft.reason,
        "error_class": draft.error_class,
        "attempts": draft.attempts,
        "status": "open",
        "created_at": now,
        "resolved_at": None,
    }
