"""Per-flow summaries for `syncwell status`, read from deliveries, journal and dead letters."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from syncwell.store.database import store_errors
from syncwell.store.dead_letters import DeadLetters
from syncwell.store.journal import Journal
from syncwell.store.schema import deliveries
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
    retries: int
    dead_letters: int


class Reports:
    """Reads the store into `FlowReport`s."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @store_errors
    async def flows(self, names: list[str]) -> list[FlowReport]:
        """A report for each named flow, in the given order."""
        journal, dead = Journal(self._engine), DeadLetters(self._engine)
        backlog = await journal.backlog()
        marks = await journal.checkpoints()
        dead_counts = await dead.counts()
        query = select(
            deliveries.c.flow,
            func.max(deliveries.c.finished_at),
            func.sum(deliveries.c.written),
            func.sum(deliveries.c.retries_transient + deliveries.c.retries_rate_limited),
        ).group_by(deliveries.c.flow)
        async with self._engine.connect() as connection:
            delivered = {row[0]: row[1:] for row in (await connection.execute(query)).all()}
        reports = []
        for name in names:
            _entries, pending, oldest = backlog.get(name, (0, 0, None))
            mark, mark_at = marks.get(name, (None, None))
            last, written, retries = delivered.get(name, (None, 0, 0))
            reports.append(
                FlowReport(
                    flow=name,
                    checkpoint=mark,
                    checkpoint_at=mark_at,
                    backlog=pending,
                    oldest_pending_at=oldest,
                    last_success_at=last,
                    written=int(written or 0),
                    retries=int(retries or 0),
                    dead_letters=dead_counts.get(name, 0),
                )
            )
        return reports
