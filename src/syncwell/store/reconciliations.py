"""Reconciliation passes of realtime flows: how many changes the webhooks had missed."""

from __future__ import annotations

import time

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from syncwell.store.database import store_errors
from syncwell.store.schema import reconciliations

__all__ = ["Reconciliations"]


class Reconciliations:
    """Records one row per pass and sums them for reports."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @store_errors
    async def record(self, flow: str, checked: int, missed: int) -> None:
        """Note a pass of `flow` that read `checked` changes, `missed` of them new to syncwell."""
        async with self._engine.begin() as connection:
            await connection.execute(
                insert(reconciliations).values(
                    flow=flow, checked=checked, missed=missed, at=time.time()
                )
            )

    @store_errors
    async def missed(self, since: float) -> dict[str, tuple[int, int]]:
        """Per flow since `since` (Unix seconds): changes checked and changes missed."""
        table = reconciliations.c
        query = (
            select(table.flow, func.sum(table.checked), func.sum(table.missed))
            .where(table.at >= since)
            .group_by(table.flow)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {flow: (int(checked), int(missed)) for flow, checked, missed in rows}
