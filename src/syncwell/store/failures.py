"""The failure log: failed reads and write attempts (at most one a flow every 10 s while a
write is retried, engine/reading.py FailureNotes) and deliveries given up, for `status`."""

from __future__ import annotations

import time

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from syncwell.store.database import store_errors
from syncwell.store.schema import failures

__all__ = ["Failures"]

_KEEP_S = 7 * 86400.0


class Failures:
    """Records failures, one row each, and forgets them after a week."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @store_errors
    async def record(self, flow: str, stage: str, error: BaseException) -> None:
        """Note that `flow` failed to read or write, and why."""
        now = time.time()
        async with self._engine.begin() as connection:
            await connection.execute(
                insert(failures).values(
                    flow=flow,
                    stage=stage,
                    error_class=type(error).__name__,
                    message=str(error)[:2000],
                    at=now,
                )
            )
            await connection.execute(delete(failures).where(failures.c.at < now - _KEEP_S))

    @store_errors
    async def newest(self, flow: str, *, error_class: str, since: float) -> str | None:
        """What the newest failure of `flow` of the class named `error_class` since `since`
        said (the analysis names a configuration mistake by it), or None."""
        table = failures.c
        query = (
            select(table.message)
            .where(table.flow == flow, table.error_class == error_class, table.at >= since)
            .order_by(table.id.desc())
            .limit(1)
        )
        async with self._engine.connect() as connection:
            found = (await connection.execute(query)).scalar_one_or_none()
        return None if found is None else str(found)
