"""The workers of a distributed run: each says it is alive every few seconds, and counts the
others, to take its share of each system's rate-limit budget (engine/membership.py)."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from syncwell.store.database import store_errors
from syncwell.store.schema import workers
from syncwell.store.upsert import upsert

__all__ = ["Workers"]


class Workers:
    """Heartbeats of worker processes."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @store_errors
    async def beat(self, worker: str, now: float, *, live_within_s: float) -> int:
        """Say `worker` is alive at `now`; how many workers are (this one included): those
        heard from within `live_within_s`. Workers silent for ten times that are forgotten."""
        row = {"id": worker, "started_at": now, "seen_at": now}
        async with self._engine.begin() as connection:
            await connection.run_sync(upsert, workers, [row], keys=("id",), update=("seen_at",))
            await connection.execute(
                delete(workers).where(workers.c.seen_at < now - 10 * live_within_s)
            )
            alive = select(func.count()).where(workers.c.seen_at >= now - live_within_s)
            return int((await connection.execute(alive)).scalar_one())

    @store_errors
    async def leave(self, worker: str) -> None:
        """`worker` stops: the others take its share at their next beat."""
        async with self._engine.begin() as connection:
            await connection.execute(delete(workers).where(workers.c.id == worker))
