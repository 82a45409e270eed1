"""The measurements: per flow per minute, added to by each flush of the engine, and rolled up
by hour and by day as they are added.

The rollups are what make an analysis of a month cheap: 5,000 flows measured for 30 days are
216 million minutes but 150,000 days. A flush knows each minute before and after it adds to
it, so it adds the difference to the minute's hour and day: the rollups stay exact however
often a minute is flushed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import ColumnElement, Connection, Executable, Table, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from syncwell.store.database import store_errors
from syncwell.store.schema import measurement_rollups, measurements
from syncwell.store.upsert import upsert

__all__ = ["HOUR", "SPANS", "Measurements"]

HOUR = 3600
SPANS = (HOUR, 86400)
"""The rollups kept: by hour and by day (seconds)."""

_MINUTE_KEY = ("flow", "minute")
_ROLLUP_KEY = ("span_s", "flow", "start")
_LARGEST = frozenset(
    {
        "read_gap_max_s",
        "lag_max_s",
        "backlog_max",
        "dead_letters_max",
        "slot_retained_bytes_max",
        "slot_retained_s_max",
    }
)
_LEAST = frozenset({"headroom_min", "source_rate_min", "destination_rate_min"})
_HISTOGRAM = "latency_buckets"


class Measurements:
    """Adds flushed minutes to the tables, and reads them back for reports and analysis."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @store_errors
    async def add(self, rows: Sequence[Mapping[str, object]]) -> None:
        """Fold `rows` into the minutes already stored (counters add, extremes keep theirs),
        and into their hours and days."""
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

    @store_errors
    async def history(
        self, flows: Sequence[str], *, since: float, until: float
    ) -> list[dict[str, object]]:
        """The measurements of `flows` in [since, until), oldest first, each row with its
        ``start`` (Unix seconds): by minute up to two days, by hour beyond, so that a week's
        plot reads hundreds of rows a flow, not ten thousand."""
        if until - since <= 2 * _DAY:
            table, start = measurements, measurements.c.minute
            query = select(table, start.label("start"))
        else:
            table, start = measurement_rollups, measurement_rollups.c.start
            query = select(table).where(table.c.span_s == HOUR)
        query = query.where(table.c.flow.in_(list(flows)), start >= since, start < until)
        async with self._engine.connect() as connection:
            result = await connection.execute(query.order_by(start, table.c.flow))
            return [dict(row._mapping) for row in result]

    @store_errors
    async def first_minute(self, flows: Sequence[str] | None = None) -> float | None:
        """The start of the oldest minute stored (of `flows`, or of any flow), Unix seconds;
        None when nothing is. The dashboard opens its plots on the window since then."""
        query = select(func.min(measurements.c.minute))
        if flows is not None:
            query = query.where(measurements.c.flow.in_(list(flows)))
        async with self._engine.connect() as connection:
            found = (await connection.execute(query)).scalar_one_or_none()
        return None if found is None else float(found)

    @store_errors
    async def totals(self, *, since: float, until: float) -> list[dict[str, object]]:
        """Each flow's measurements in [since, until) added up: one row per flow (without the
        latency histogram). Under 3 hours the window is exact: whole hours from the hourly
        rollups, the minutes at either edge from the minutes. Longer, it is widened to whole
        hours, and from a week to whole days (the daily rollups)."""
        async with self._engine.connect() as connection:
            by_flow: dict[str, dict[str, object]] = {}
            for table, span, start, end in _pieces(since, until):
                query = _aggregate(table, span, start, end)
                for row in await connection.execute(query):
                    found = dict(row._mapping)
                    flow = str(found["flow"])
                    by_flow[flow] = _merge(by_flow.get(flow), found, ("flow",))
        return list(by_flow.values())

    @store_errors
    async def daily_changes(
        self, *, since: float, until: float, min_measured_s: float
    ) -> list[tuple[str, int, float]]:
        """Each flow's changes in per day in [since, until): (flow, the day's index from
        `since`, its changes scaled to a whole day), days measured less than
        `min_measured_s` left out. Plain tuples: 5,000 flows read 140,000 of them."""
        table = measurement_rollups.c
        query = select(
            table.flow,
            table.start,
            table.changes_in * float(_DAY) / table.measured_s,
        ).where(
            table.span_s == _DAY,
            table.start >= since,
            table.start < until,
            table.measured_s >= min_measured_s,
        )
        async with self._engine.connect() as connection:
            rows = await connection.execute(query)
            return [(str(f), int((start - since) // _DAY), float(y)) for f, start, y in rows]


def _add(connection: Connection, rows: Sequence[Mapping[str, object]]) -> None:
    keys = [(row["flow"], row["minute"]) for row in rows]
    table = measurements.c
    stored = {
        (row.flow, row.minute): dict(row._mapping)
        for row in connection.execute(
            select(measurements).where(tuple_(table.flow, table.minute).in_(keys))
        )
    }
    pairs = [(stored.get((row["flow"], row["minute"])), row) for row in rows]
    merged = [_merge(old, new, _MINUTE_KEY) for old, new in pairs]
    columns = [name for name in merged[0] if name not in _MINUTE_KEY]
    upsert(connection, measurements, merged, keys=_MINUTE_KEY, update=columns)
    _roll_up(connection, [(old, new) for (old, _), new in zip(pairs, merged, strict=True)])


def _roll_up(
    connection: Connection, pairs: Sequence[tuple[Mapping[str, object] | None, dict[str, object]]]
) -> None:
    """Add each minute's change (before -> after this flush) to its hour and its day."""
    deltas: dict[tuple[object, ...], dict[str, object]] = {}
    for before, after in pairs:
        change = _difference(before, after)
        for span in SPANS:
            start = int(after["minute"]) // span * span  # type: ignore[call-overload]
            row = {"span_s": span, "flow": after["flow"], "start": start, **change}
            key = (span, after["flow"], start)
            deltas[key] = _merge(deltas.get(key), row, _ROLLUP_KEY)
    table = measurement_rollups.c
    stored: dict[tuple[object, ...], dict[str, object]] = {
        (row.span_s, row.flow, row.start): dict(row._mapping)
        for row in connection.execute(
            select(measurement_rollups).where(
                tuple_(table.span_s, table.flow, table.start).in_(list(deltas))
            )
        )
    }
    merged = [_merge(stored.get(key), delta, _ROLLUP_KEY) for key, delta in deltas.items()]
    columns = [name for name in merged[0] if name not in _ROLLUP_KEY]
    upsert(connection, measurement_rollups, merged, keys=_ROLLUP_KEY, update=columns)


def _difference(
    before: Mapping[str, object] | None, after: Mapping[str, object]
) -> dict[str, object]:
    """What this flush added to a minute, as a row the rollups can add up."""
    change: dict[str, object] = {}
    for name, value in after.items():
        if name in _MINUTE_KEY:
            continue
        old = None if before is None else before.get(name)
        if name == _HISTOGRAM:
            change[name] = _add_histograms(str(value), str(old or ""), sign=-1)
        elif name in _LARGEST or name in _LEAST or old is None or value is None:
            change[name] = value
        else:
            change[name] = value - old  # type: ignore[operator]
    return change


def _merge(
    old: Mapping[str, object] | None, new: Mapping[str, object], key: tuple[str, ...]
) -> dict[str, object]:
    if old is None:
        return dict(new)
    merged: dict[str, object] = {}
    for name, value in new.items():
        before = old.get(name)
        if name in key:
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


def _add_histograms(a: str, b: str, *, sign: int = 1) -> str:
    left = [int(x) for x in a.split(",") if x]
    right = [int(x) for x in b.split(",") if x]
    size = max(len(left), len(right))
    left += [0] * (size - len(left))
    right += [0] * (size - len(right))
    return ",".join(str(x + sign * y) for x, y in zip(left, right, strict=True))


_DAY = 86400
_Piece = tuple[Table, int | None, float, float]


_EXACT_UNDER_S = 3 * HOUR
"""Windows shorter than this are read to the minute; longer ones in whole hours (whole days
from a week): the minutes at the edges of a day's window are 5,000 flows x 118 rows, more than
the day's hours, for a precision of a few percent."""


def _pieces(since: float, until: float) -> list[_Piece]:
    """[since, until) cut into whole days, then whole hours, then minutes at the edges; a
    long window is first widened to whole hours or days (the current one included)."""
    if until - since >= 7 * _DAY:
        since, until = since // _DAY * _DAY, -(-until // _DAY) * _DAY
    elif until - since >= _EXACT_UNDER_S:
        since, until = since // HOUR * HOUR, -(-until // HOUR) * HOUR
    pieces: list[_Piece] = []

    def cut(start: float, end: float, spans: tuple[int, ...]) -> None:
        if start >= end:
            return
        if not spans:
            pieces.append((measurements, None, start, end))
            return
        span, smaller = spans[0], spans[1:]
        first, last = -(-start // span) * span, end // span * span
        if first >= last:
            cut(start, end, smaller)
            return
        pieces.append((measurement_rollups, span, first, last))
        cut(start, first, smaller)
        cut(last, end, smaller)

    cut(since, until, (_DAY,) if until - since >= 7 * _DAY else (HOUR,))
    return pieces


def _aggregate(table: Table, span: int | None, start: float, end: float) -> Executable:
    """The measured columns of `table` in [start, end), added up by flow."""
    time = table.c.minute if span is None else table.c.start
    columns: list[ColumnElement[object]] = [table.c.flow]
    for column in table.columns:
        name = column.name
        if name in _ROLLUP_KEY or name in _MINUTE_KEY or name == _HISTOGRAM:
            continue
        fold = func.max if name in _LARGEST else func.min if name in _LEAST else func.sum
        columns.append(fold(column).label(name))
    query = select(*columns).where(time >= start, time < end)
    if span is not None:
        query = query.where(table.c.span_s == span)
    return query.group_by(table.c.flow)
