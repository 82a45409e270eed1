"""The incidents table: opened and closed by the engine, listed by `syncwell incidents`."""

from __future__ import annotations

import builtins
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from syncwell.store.database import store_errors
from syncwell.store.schema import incidents

__all__ = ["Incident", "Incidents"]


@dataclass(frozen=True, slots=True)
class Incident:
    """A period in which a flow was unhealthy, and why."""

    id: int
    integration: str
    flow: str
    cause: str
    detail: str
    opened_at: float
    closed_at: float | None

    @property
    def resolve_s(self) -> float | None:
        """Time to resolve, in seconds; None while open."""
        return None if self.closed_at is None else self.closed_at - self.opened_at


class Incidents:
    """Opens, closes and lists incidents."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @store_errors
    async def open(self, integration: str, flow: str, cause: str, detail: str, at: float) -> int:
        """Open an incident (the caller knows none of this flow and cause is open)."""
        async with self._engine.begin() as connection:
            result = await connection.execute(
                insert(incidents).values(
                    integration=integration,
                    flow=flow,
                    cause=cause,
                    detail=detail,
                    opened_at=at,
                    closed_at=None,
                )
            )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    @store_errors
    async def close(self, flow: str, cause: str, at: float) -> int | None:
        """Close the open incident of this flow and cause; its id, or None if none was open."""
        table = incidents.c
        async with self._engine.begin() as connection:
            result = await connection.execute(
                update(incidents)
                .where(table.flow == flow, table.cause == cause, table.closed_at.is_(None))
                .values(closed_at=at)
                .returning(table.id)
            )
            closed = result.scalars().all()
        return int(closed[0]) if closed else None

    @store_errors
    async def list(self, *, since: float = 0.0, open_only: bool = False) -> list[Incident]:
        """Incidents opened since `since` (and all still open), newest first."""
        table = incidents.c
        query = select(incidents).where((table.opened_at >= since) | table.closed_at.is_(None))
        if open_only:
            query = query.where(table.closed_at.is_(None))
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query.order_by(table.opened_at.desc()))).all()
        return [Incident(*row) for row in rows]

    @store_errors
    async def overlapping(self, since: float, until: float) -> builtins.list[Incident]:
        """Incidents that were open at some moment of [since, until), oldest first."""
        table = incidents.c
        query = select(incidents).where(
            table.opened_at < until, table.closed_at.is_(None) | (table.closed_at >= since)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query.order_by(table.opened_at))).all()
        return [Incident(*row) for row in rows]
