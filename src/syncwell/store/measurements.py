"""The measurements table: per flow per minute, added to by each flush of the engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Connection, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from syncwell.store.database import store_errors
from syncwell.store.schema import measurements
from syncwell.store.upsert import upsert

__all__ = ["Measurements"]

_KEY = ("flow", "minute")
_LARGEST = frozenset({"read_gap_max_s", "lag_max_s", "backlog_max"})
_LEAST = frozenset({"headroom_min"})
_HISTOGRAM = "latency_buckets"


class Measurements:
    """Adds flushed minutes to the table, and reads them back for reports and analysis."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @store_errors
    async def add(self, rows: Sequence[Mapping[str, object]]) -> None:
        """Fold `rows` into the minutes already stored: counters add, extremes keep theirs."""
        if not rows:
            return
        async with self._engine.begin() as connection:
            await connection.run_sync(_add, rows)

    @store_errors
    async def read(
        self, *, since: float, until: float | None = None, flow: str | None = None
    ) -> list[dict[str, object]]:
        """The stored minutes from `since` (Unix seconds), oldest first."""
        table = measurements.c
        query = select(measurements).where(table.minute >= since)
        if until is not None:
            query = query.where(table.minute < until)
        if flow is not None:
            query = query.where(table.flow == flow)
        async with self._engine.connect() as connection:
            result = await connection.execute(query.order_by(table.minute, table.flow))
            return [dict(row._mapping) for row in result]


def _add(connection: Connection, rows: Sequence[Mapping[str, object]]) -> None:
    keys = [(row["flow"], row["minute"]) for row in rows]
    table = measurements.c
    stored = {
        (row.flow, row.minute): dict(row._mapping)
        for row in connection.execute(
            select(measurements).where(tuple_(table.flow, table.minute).in_(keys))
        )
    }
    merged = [_merge(stored.get((row["flow"], row["minute"])), row) for row in rows]
    columns = [name for name in merged[0] if name not in _KEY]
    upsert(connection, measurements, merged, keys=_KEY, update=columns)


def _merge(old: Mapping[str, object] | None, new: Mapping[str, object]) -> dict[str, object]:
    if old is None:
        return dict(new)
    merged: dict[str, object] = {}
    for name, value in new.items():
        before = old.get(name)
        if name in _KEY:
            merged[name] = value
        elif name == _HISTOGRAM:
            merged[name] = _add_histograms(str(before or ""), str(value))
        elif before is None or value is None:
            merged[name] = value if before is None else before
        else:
            merged[name] = _fold(name, before, value)  # type: ignore[arg-type]
    return merged


def _fold(name: str, before: float, value: float) -> float:
    # Integers stay integers (PostgreSQL's integer columns refuse 3.0); floats stay floats.
    if name in _LARGEST:
        return max(before, value)
    if name in _LEAST:
        return min(before, value)
    return before + value


def _add_histograms(a: str, b: str) -> str:
    left = [int(x) for x in a.split(",") if x]
    right = [int(x) for x in b.split(",") if x]
    size = max(len(left), len(right))
    left += [0] * (size - len(left))
    right += [0] * (size - len(right))
    return ",".join(str(x + y) for x, y in zip(left, right, strict=True))
