"""The analyses table: every constraint analysis kept, for `syncwell constraint --history`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from syncwell.store.database import store_errors
from syncwell.store.schema import analyses

__all__ = ["Analyses", "StoredAnalysis"]


@dataclass(frozen=True, slots=True)
class StoredAnalysis:
    """One analysis as kept: the constraint it named (none when every flow was within its SLO),
    its evidence, and the whole report as JSON."""

    id: int
    at: float
    window_s: float
    integration: str | None
    flow: str | None
    reason: str | None
    evidence: str
    report: str


class Analyses:
    """Keeps and lists constraint analyses."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @store_errors
    async def add(self, analysis: StoredAnalysis) -> int:
        """Keep `analysis` (its id is ignored); the id it was given."""
        values = {name: getattr(analysis, name) for name in StoredAnalysis.__slots__}
        del values["id"]
        async with self._engine.begin() as connection:
            result = await connection.execute(insert(analyses).values(**values))
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    @store_errors
    async def list(self, *, since: float = 0.0, limit: int = 1000) -> list[StoredAnalysis]:
        """Analyses made since `since`, oldest first (the newest `limit` of them)."""
        table = analyses.c
        query = select(analyses).where(table.at >= since).order_by(table.at.desc()).limit(limit)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [StoredAnalysis(*row) for row in reversed(rows)]
