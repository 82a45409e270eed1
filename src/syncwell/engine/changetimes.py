"""When each change happened, so that freshness runs on the source's clock (DESIGN.md, lessons).

A batch's `observed_at` is the time of its oldest change, and the delivery measures the
batch's lag from it. This module sets it, per page read and per webhook event:

* **record timestamp**: on an incremental read, the oldest value of the flow's cursor column
  on the page, when those values are times;
* **event time**: for a webhook, the record's cursor value, else the time the sender signed
  the request, else when it arrived;
* **poll bound**: where there is no usable time, the start of the previous whole read of the
  flow. A change that read did not report happened after it began (had it happened before,
  that read would have found it), so lag measured from there is an upper bound: it is too
  long by at most the time from that read's start to the change, one interval and a read.

A record's or event's time is kept inside the window the reads allow: never before the start
of the previous whole read (a time before it is a late commit, a look-back re-read, or a
clock behind ours: the poll bound is the honest answer), never after the moment the change
reached syncwell. A time further ahead than `AHEAD_S` means the values are not times on our
clock (a sequence number that looks like one, local time read as UTC): the poll bound then.
Naive timestamps are read as UTC.

The first read of a run has no earlier read to bound it: its changes, a first sync's backfill
among them, are measured from when syncwell read them, as before any of this.

A `mode: cdc` flow does not come here: each of its batches carries the commit time of its
oldest transaction, from the transaction's Begin message (connectors/postgres/cdc), the
`commit` clock. Its snapshot pages carry the time they were read.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from operator import itemgetter, methodcaller
from typing import Literal

import structlog

from syncwell import copytext
from syncwell.engine.inbound import at
from syncwell.types import ChangeBatch, Op
from syncwell.workspace import Flow, Mode, Workspace

__all__ = ["AHEAD_S", "ChangeTimes", "LagClock", "instant", "lag_clocks", "oldest_instant"]

log = structlog.get_logger("syncwell.freshness")

AHEAD_S = 2.0
"""How far a source's time may run ahead of ours and still be read as the change's time."""

LagClock = Literal["record", "event", "poll", "commit"]
"""Where a flow's lag starts: a record timestamp, a webhook's event time, the poll bound, or
a transaction's commit (a CDC flow)."""

# Unix time as a count, by its unit: 2001 to 2286 in each. Anything else is not a time.
_EPOCH_UNITS = ((1e9, 1e10, 1.0), (1e12, 1e13, 1e3), (1e15, 1e16, 1e6), (1e18, 1e19, 1e9))
_NUMBER = re.compile(r"\d+(\.\d*)?")


def instant(value: object) -> float | None:
    """The Unix seconds a cursor value names, or None when it names no time.

    Datetimes (naive ones as UTC), ISO 8601 text with a time of day, and counts of seconds,
    milliseconds, microseconds or nanoseconds since 1970 that fall between 2001 and 2286.
    A date alone, a small integer (a sequence) and anything else are not times.
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.timestamp()
    if isinstance(value, str):
        return _text_instant(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        for low, high, per_second in _EPOCH_UNITS:
            if low <= value < high:
                return value / per_second
    return None


def _text_instant(text: str) -> float | None:
    if _NUMBER.fullmatch(text):  # a count, written as text
        return instant(float(text))
    if len(text) <= 10:  # a date alone: no time of day
        return None
    try:
        return instant(dt.datetime.fromisoformat(text))
    except ValueError:
        return None


def oldest_instant(batch: ChangeBatch, column: str) -> float | None:
    """The oldest time in `column` of the batch; None when the column holds no times.

    The values are compared in C, and only the oldest is converted: datetimes and numbers as
    they are, ISO texts of one length and one zone as text (their text order is their time
    order), other texts as the datetimes they parse to; what is left (naive and aware
    datetimes together, texts that are not ISO) is converted one by one. A COPY-text page
    comes from the PostgreSQL source's incremental read, ordered by the cursor: its first
    line holds the oldest.
    """
    if column not in batch.columns:
        return None
    at = batch.columns.index(column)
    if batch.copy_text is not None:
        data = batch.copy_text
        end = data.find(b"\n")
        first = data if end < 0 else data[:end]
        return instant(copytext.parse_line(first)[at]) if first else None
    values = list(filter(None, map(itemgetter(at), batch.rows)))
    if not values:
        return None
    try:
        if isinstance(values[0], str) and not _uniform_text(values):
            if len(min(values, key=len)) <= 10:  # dates alone, or numbers: one by one
                raise ValueError
            return instant(min(map(dt.datetime.fromisoformat, values)))
        return instant(min(values))  # one kind of value, else a TypeError
    except (TypeError, ValueError):  # mixed kinds, or texts that are not ISO: one by one
        times = [t for t in map(instant, values) if t is not None]
        return min(times, default=None)


def _uniform_text(values: Sequence[str]) -> bool:
    """Whether the texts share a length and a zone, so that text order is time order (a
    value that is not text among them makes them not uniform)."""
    try:
        if len(set(map(len, values))) != 1:
            return False
        zone = _zone(values[0])
        return not zone or all(map(methodcaller("endswith", zone), values))
    except TypeError:
        return False


def _zone(text: str) -> str:
    """The zone an ISO text ends with (`Z`, `+01:00`, `-0500`, `+02`), or "" for none."""
    if text.endswith(("Z", "z")):
        return text[-1]
    for width in (6, 5, 3):
        if len(text) > width and text[-width] in "+-":
            return text[-width:]
    return ""


def lag_clocks(workspace: Workspace) -> dict[str, LagClock | None]:
    """The clock each flow's lag runs on, as configured: `event` for a realtime flow fed by
    webhooks (what its reconciliation finds runs on record timestamps), `commit` for a CDC
    flow (its transactions' commit times), `record` for a flow with a cursor (the poll bound
    where its values turn out not to be times), else `poll`; None for a manual flow, which
    syncwell does not measure."""
    hooked = {name for name, system in workspace.systems.items() if system.webhooks}
    clocks: dict[str, LagClock | None] = {}
    for flow in workspace.flows.values():
        if flow.mode is Mode.MANUAL:
            clocks[flow.name] = None
        elif flow.mode is Mode.CDC:
            clocks[flow.name] = "commit"
        elif flow.mode is Mode.REALTIME and flow.source in hooked:
            clocks[flow.name] = "event"
        else:
            clocks[flow.name] = "record" if flow.cursor is not None else "poll"
    return clocks


class ChangeTimes:
    """When the changes of a run's flows happened: the engine's reads and webhooks ask it.

    Args:
        flows: the flows of the run.
        wall: Unix seconds (the engine's clock).
    """

    def __init__(self, flows: Iterable[Flow], wall: Callable[[], float]) -> None:
        self._wall = wall
        self._started = wall()
        self._cursors: Mapping[str, str | None] = {flow.name: flow.cursor for flow in flows}
        self._previous: dict[str, float] = {}
        self._reading: dict[str, float] = {}
        self._untimed: set[str] = set()

    def read_started(self, flow: str) -> None:
        """A read of `flow` begins now."""
        self._reading[flow] = self._wall()

    def read_finished(self, flow: str) -> None:
        """The read of `flow` that began last went through to its end (not cut short)."""
        began = self._reading.pop(flow, None)
        if began is not None:
            self._previous[flow] = began

    def page(self, flow: str, batch: ChangeBatch, *, incremental: bool) -> ChangeBatch:
        """`batch`, a page read from `flow`'s source, stamped with its oldest change's time."""
        bound = self._previous.get(flow)
        if bound is None or not (batch.rows or batch.copy_text):  # (len counts COPY lines)
            return batch  # the run's first read (or nothing): measured from when it was read
        cursor = self._cursors.get(flow)
        if cursor is None:
            return replace(batch, observed_at=bound)
        if not incremental:
            return batch  # a full read of a flow with a cursor is a backfill
        now = self._wall()
        when = oldest_instant(batch, cursor)
        if when is None or when > now + AHEAD_S:
            self._say_untimed(flow, cursor, when, now)
            return replace(batch, observed_at=bound)
        return replace(batch, observed_at=min(max(when, bound), now))

    def event(
        self, flows: Sequence[Flow], records: Sequence[Mapping[str, object]], op: Op, sent_at: float
    ) -> float:
        """When the change a webhook brings happened: the oldest record's cursor value (an
        upsert's; a delete's record shows its last update, not the delete), else `sent_at`,
        the time the sender signed it (or it arrived), kept inside the window the reads allow."""
        now = self._wall()
        times = [
            instant(at(record, flow.cursor))
            for flow in flows
            if flow.cursor is not None and op is Op.UPSERT
            for record in records
        ]
        known = [t for t in times if t is not None and t <= now + AHEAD_S]
        when = min(known, default=min(sent_at, now))
        floor = min((self._previous.get(flow.name, self._started) for flow in flows), default=now)
        return min(max(when, floor), now)

    def _say_untimed(self, flow: str, cursor: str, when: float | None, now: float) -> None:
        if flow in self._untimed:
            return
        self._untimed.add(flow)
        why = "holds no times" if when is None else f"is {when - now:,.0f}s ahead of this clock"
        log.info(  # not a fault: a date, or a sequence, is a fine cursor; shown with --verbose
            "freshness falls back to the poll bound",
            flow=flow,
            cursor=cursor,
            reason=f"the cursor {why}: lag is measured from the previous read's start",
        )
