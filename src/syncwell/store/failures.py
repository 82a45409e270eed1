"""The failure log: reads and deliveries that failed after their retries, for `status`."""

from __future__ import annotations

import time

from sqlalchemy import delete, insert
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
