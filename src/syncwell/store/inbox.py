"""The webhook inbox: events taken in, deduplicated by id, and journaled in one transaction.

Many requests share one commit (the engine's committer groups them), so an fsync is paid per
group, not per webhook. The event ids, the journal entries, the versions seen and the re-reads
thin events ask for all land in that one transaction: a sender is answered 2xx only after it
commits, and a redelivered id finds its first delivery already recorded.

A re-read stays until a read of its flow that began after it was taken in has finished
(`pending_rereads`, then `fulfil_rereads`), so a crash between the 2xx and that read loses
nothing: the next run's first read fulfils it.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from syncwell.store.database import store_errors
from syncwell.store.journal import insert_entry
from syncwell.store.record_versions import note_seen, seen_versions
from syncwell.store.schema import webhook_events, webhook_rereads
from syncwell.types import ChangeBatch, Op, Row
from syncwell.versions import Comparable, is_newer

__all__ = ["InboundChange", "InboundEvent", "Inbox", "Reread"]


@dataclass(frozen=True, slots=True)
class InboundChange:
    """One change an event brings to one flow."""

    flow: str
    stream: str
    columns: tuple[str, ...]
    row: Row
    op: Op
    key: str
    version: Comparable | None


@dataclass(frozen=True, slots=True)
class Reread:
    """A thin event's ask: read `key` of `flow` again from its source (`None`: what changed)."""

    flow: str
    key: str | None


@dataclass(frozen=True, slots=True)
class InboundEvent:
    """A verified webhook, translated into the changes it brings and the re-reads it asks."""

    system: str
    event_id: str
    observed_at: float
    changes: Sequence[InboundChange] = field(default_factory=tuple)
    rereads: Sequence[Reread] = field(default_factory=tuple)


class Inbox:
    """Writes groups of inbound events; forgets their ids after the dedupe period.

    Args:
        engine: the state store.
        direct: on SQLite, a sync engine on the same file. A group's transaction then runs
            in one hop to a thread, instead of a hop per statement through the async driver:
            the whole group costs about one commit, which is what lets intake keep up with
            thousands of webhooks a second (docs/benchmarks.md).
    """

    def __init__(self, engine: AsyncEngine, direct: Engine | None = None) -> None:
        self._engine = engine
        self._direct = direct

    @store_errors
    async def take(self, events: Sequence[InboundEvent]) -> list[bool]:
        """Journal the events not seen before, in one transaction; True for each new one."""
        now = time.time()
        if self._direct is not None:
            return await asyncio.to_thread(self._take_direct, events, now)
        async with self._engine.begin() as connection:
            return await connection.run_sync(_take, events, now)

    def _take_direct(self, events: Sequence[InboundEvent], now: float) -> list[bool]:
        assert self._direct is not None
        with self._direct.begin() as connection:
            return _take(connection, events, now)

    def close(self) -> None:
        """Close the direct engine's connections."""
        if self._direct is not None:
            self._direct.dispose()

    @store_errors
    async def pending_rereads(self, flow: str) -> tuple[int, int] | None:
        """The newest id and the count of `flow`'s re-reads waiting now; None when none."""
        query = select(func.max(webhook_rereads.c.id), func.count()).where(
            webhook_rereads.c.flow == flow
        )
        async with self._engine.connect() as connection:
            newest, count = (await connection.execute(query)).one()
        return None if newest is None else (int(newest), int(count))

    @store_errors
    async def waiting_rereads(
        self, flow: str, upto: int, limit: int
    ) -> list[tuple[int, str | None]]:
        """`flow`'s re-reads up to id `upto` (id and key), `limit` at most."""
        table = webhook_rereads.c
        query = (
            select(table.id, table.key)
            .where(table.flow == flow, table.id <= upto)
            .order_by(table.id)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            return [(int(i), key) for i, key in (await connection.execute(query)).all()]

    @store_errors
    async def settle_rereads(
        self, done: Sequence[int], missed: Sequence[int], *, give_up_after: int
    ) -> list[tuple[str, str | None]]:
        """Drop the re-reads a read fulfilled; count a miss against the others, and drop
        (returning their flow and key) those that missed `give_up_after` reads."""
        table = webhook_rereads.c
        given_up: list[tuple[str, str | None]] = []
        async with self._engine.begin() as connection:
            for start in range(0, len(done), 500):
                chunk = list(done[start : start + 500])
                await connection.execute(delete(webhook_rereads).where(table.id.in_(chunk)))
            for start in range(0, len(missed), 500):
                chunk = list(missed[start : start + 500])
                await connection.execute(
                    update(webhook_rereads)
                    .where(table.id.in_(chunk))
                    .values(attempts=table.attempts + 1)
                )
                ended = table.id.in_(chunk) & (table.attempts >= give_up_after)
                rows = await connection.execute(select(table.flow, table.key).where(ended))
                given_up += [(flow, key) for flow, key in rows.all()]
                await connection.execute(delete(webhook_rereads).where(ended))
        return given_up

    @store_errors
    async def fulfil_rereads(self, flow: str, upto: int) -> int:
        """Drop `flow`'s re-reads up to id `upto`, read since; return how many."""
        async with self._engine.begin() as connection:
            result = await connection.execute(
                delete(webhook_rereads).where(
                    webhook_rereads.c.flow == flow, webhook_rereads.c.id <= upto
                )
            )
        return int(result.rowcount or 0)

    @store_errors
    async def forget_before(self, cutoff: float) -> int:
        """Drop event ids received before `cutoff` (Unix seconds); return how many."""
        async with self._engine.begin() as connection:
            result = await connection.execute(
                delete(webhook_events).where(webhook_events.c.received_at < cutoff)
            )
        return int(result.rowcount or 0)


def _take(connection: Connection, events: Sequence[InboundEvent], now: float) -> list[bool]:
    fresh = _claim_ids(connection, events, now)
    accepted = [event for event, new in zip(events, fresh, strict=True) if new]
    for flow, batch in _pages(accepted):
        insert_entry(connection, flow, batch, now)
    rereads = [
        {"flow": r.flow, "key": r.key, "system": e.system, "event_id": e.event_id}
        for e in accepted
        for r in e.rereads
    ]
    if rereads:
        connection.execute(insert(webhook_rereads).values(requested_at=now), rereads)
    for (system, stream), seen in _newest_seen(accepted).items():
        known = seen_versions(connection, system, stream, list(seen))
        newer = {k: v for k, v in seen.items() if is_newer(v, known.get(k))}
        note_seen(connection, system, stream, newer)
    return fresh


def _claim_ids(connection: Connection, events: Sequence[InboundEvent], now: float) -> list[bool]:
    """Record each event id; False for ids already recorded (before, or earlier in `events`).

    The insert alone decides, by the rows it returns: an id recorded before (or by another
    process, a second worker, a moment ago) is skipped by the primary key and not returned.
    """
    candidates = {
        (event.system, event.event_id): {"system": event.system, "event_id": event.event_id}
        for event in events
    }
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(webhook_events)
        .values(received_at=now)
        .on_conflict_do_nothing()
        .returning(webhook_events.c.system, webhook_events.c.event_id)
    )
    result = connection.execute(statement, list(candidates.values()))
    claimed = {(system, event_id) for system, event_id in result.all()}
    fresh: list[bool] = []
    for event in events:
        ident = (event.system, event.event_id)
        fresh.append(ident in claimed)
        claimed.discard(ident)  # a second copy in the same group is a duplicate
    return fresh


def _pages(events: Sequence[InboundEvent]) -> list[tuple[str, ChangeBatch]]:
    """One journal page per flow and column set, changes in arrival order."""
    grouped: dict[tuple[str, tuple[str, ...]], tuple[list[Row], list[Op], list[float]]] = {}
    for event in events:
        for change in event.changes:
            rows, ops, seen = grouped.setdefault((change.flow, change.columns), ([], [], []))
            rows.append(change.row)
            ops.append(change.op)
            seen.append(event.observed_at)
    return [
        (
            flow,
            ChangeBatch(
                columns,
                rows,
                None if all(op is Op.UPSERT for op in ops) else ops,
                observed_at=min(seen),
            ),
        )
        for (flow, columns), (rows, ops, seen) in grouped.items()
    ]


def _newest_seen(
    events: Sequence[InboundEvent],
) -> Mapping[tuple[str, str], dict[str, Comparable | None]]:
    # The newest version per key, whatever the arrival order: senders reorder.
    seen: defaultdict[tuple[str, str], dict[str, Comparable | None]] = defaultdict(dict)
    for event in events:
        for change in event.changes:
            if change.version is None:
                continue  # a change without a version (a delete event) says nothing of order
            known = seen[(event.system, change.stream)]
            if change.key not in known or is_newer(change.version, known[change.key]):
                known[change.key] = change.version
    return seen
