"""Per-flow summaries for `syncwell status`, read from deliveries, journal and dead letters."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from syncwell.store.database import store_errors
from syncwell.store.dead_letters import DeadLetters
from syncwell.store.journal import Journal
from syncwell.store.schema import deliveries, failures, first_syncs, measurements
from syncwell.store.verifications import FlowVerification, Verifications
from syncwell.types import Checkpoint

__all__ = ["FlowReport", "Reports"]


@dataclass(frozen=True, slots=True)
class FlowReport:
    """Where one flow stands."""

    flow: str
    checkpoint: Checkpoint | None
    checkpoint_at: float | None
    backlog: int
    oldest_pending_at: float | None
    last_success_at: float | None
    written: int
    """Changes written (delivered), over the store's history."""
    retries: int
    dead_lettered: int
    """Dead letters made, over the store's history: each once, replayed or not."""
    dead_letters: int
    """Dead letters still open."""
    failures_24h: int
    last_failure: str
    last_failure_at: float | None
    verification: FlowVerification | None = None
    """What reading back its written records found; None when none was read back."""
    matched: int = 0
    """Records its last first sync found equal in the destination, so did not write."""
    in_stream: int | None = None
    """With a transport: its messages waiting in the stream for a worker, each a partition's
    part of a journal entry, beside `backlog` (the journal's); None without a transport or
    when the stream could not be read (transport/admin.py fills it)."""
    stream_error: str = ""
    """Why the stream could not be read; empty when it was, or without a transport."""
    slot_retained_bytes: int | None = None
    """A `mode: cdc` flow: the most WAL its replication slot kept in the last minute the
    engine measured it (measure/slots.py); None when never measured."""
    slot_retained_s: float | None = None
    """Likewise, the furthest behind in time its confirmed position was, seconds."""
    slot_measured_at: float | None = None
    """The start of that minute (Unix seconds)."""


def _last_slots() -> Select[str, int, int, float]:
    """Each flow's newest minute with its slot measured: (flow, minute, bytes, seconds)."""
    table = measurements.c
    newest = (
        select(table.flow, func.max(table.minute).label("minute"))
        .where(table.slot_retained_bytes_max.is_not(None))
        .group_by(table.flow)
        .subquery()
    )
    return select(
        table.flow, table.minute, table.slot_retained_bytes_max, table.slot_retained_s_max
    ).join(newest, (table.flow == newest.c.flow) & (table.minute == newest.c.minute))


def _last_failures() -> Select[str, str, float]:
    newest = (
        select(failures.c.flow, func.max(failures.c.id).label("id"))
        .group_by(failures.c.flow)
        .subquery()
    )
    return select(failures.c.flow, failures.c.message, failures.c.at).join(
        newest, failures.c.id == newest.c.id
    )


class Reports:
    """Reads the store into `FlowReport`s."""

    def __init__(self, engine: AsyncEngine, journal: Journal, dead_letters: DeadLetters) -> None:
        self._engine = engine
        self._journal = journal
        self._dead_letters = dead_letters

    @store_errors
    async def flows(self, names: list[str]) -> list[FlowReport]:
        """A report for each named flow, in the given order."""
        backlog = await self._journal.backlog()
        marks = await self._journal.checkpoints()
        dead_counts = await self._dead_letters.counts()
        query = select(
            deliveries.c.flow,
            func.max(deliveries.c.finished_at),
            func.sum(deliveries.c.written),
            func.sum(
                deliveries.c.retries_transient
                + deliveries.c.retries_rate_limited
                + deliveries.c.retries_timeout
            ),
            func.sum(deliveries.c.dead_lettered),
        ).group_by(deliveries.c.flow)
        since = time.time() - 86400
        failed = (
            select(failures.c.flow, func.count(), func.max(failures.c.at))
            .where(failures.c.at >= since)
            .group_by(failures.c.flow)
        )
        async with self._engine.connect() as connection:
            delivered = {row[0]: row[1:] for row in (await connection.execute(query)).all()}
            recent = {row[0]: row[1:] for row in (await connection.execute(failed)).all()}
            last = {
                flow: (message, at)
                for flow, message, at in (await connection.execute(_last_failures())).all()
            }
            compared = select(first_syncs.c.flow, first_syncs.c.matched)
            matched = dict((await connection.execute(compared)).all())
            slots = {row[0]: row[1:] for row in (await connection.execute(_last_slots())).all()}
        verified = await Verifications(self._engine).of(names)
        reports = []
        for name in names:
            _entries, pending, oldest = backlog.get(name, (0, 0, None))
            mark, mark_at = marks.get(name, (None, None))
            last_ok, written, retries, dead_lettered = delivered.get(name, (None, 0, 0, 0))
            failed_count, _ = recent.get(name, (0, None))
            message, failed_at = last.get(name, ("", None))
            slot_at, slot_bytes, slot_s = slots.get(name, (None, None, None))
            reports.append(
                FlowReport(
                    flow=name,
                    checkpoint=mark,
                    checkpoint_at=mark_at,
                    backlog=pending,
                    oldest_pending_at=oldest,
                    last_success_at=last_ok,
                    written=int(written or 0),
                    retries=int(retries or 0),
                    dead_lettered=int(dead_lettered or 0),
                    dead_letters=dead_counts.get(name, 0),
                    failures_24h=int(failed_count),
                    last_failure=message,
                    last_failure_at=failed_at,
                    verification=verified.get(name),
                    matched=int(matched.get(name, 0)),
                    slot_retained_bytes=None if slot_bytes is None else int(slot_bytes),
                    slot_retained_s=None if slot_s is None else float(slot_s),
                    slot_measured_at=None if slot_at is None else float(slot_at),
                )
            )
        return reports
