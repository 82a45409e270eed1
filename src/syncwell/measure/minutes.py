"""Per-flow, per-minute aggregates, kept in memory until the engine flushes them to the store.

Every event the engine sees (a page taken in, a batch delivered, a read, a sample of the
backlog, the breaker and the rate-limit headroom) folds into the row of its flow and minute:
counters add, gauges keep their extreme. A flush hands over the rows and starts afresh; the
store adds them to what an earlier flush of the same minute wrote, so flushing often (every few
seconds, and at a stop) loses nothing and never double-counts.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields

__all__ = ["LATENCY_BOUNDS_MS", "FlowMinute", "MinuteRecorder"]

LATENCY_BOUNDS_MS = (10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
"""Upper bounds of the write-latency histogram's buckets, ms; one more bucket holds the rest."""


@dataclass(slots=True)
class FlowMinute:
    """One flow's minute. Counters add up; `*_max` keep the largest, `headroom_min` the least."""

    flow: str
    minute: int
    """Unix seconds at the start of the minute."""
    changes_in: int = 0
    changes_out: int = 0
    batches: int = 0
    attempts: int = 0
    retries_transient: int = 0
    retries_rate_limited: int = 0
    retries_timeout: int = 0
    dead_lettered: int = 0
    reads: int = 0
    read_gap_max_s: float = 0.0
    latency_sum_ms: float = 0.0
    latency_buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BOUNDS_MS) + 1))
    lag_sum_s: float = 0.0
    lag_max_s: float = 0.0
    late: int = 0
    """Changes written later than the flow's freshness SLO after their change at the source."""
    requests: int = 0
    """Requests sent for the flow that spent a system's rate-limit budget."""
    backlog_max: int = 0
    dead_letters_max: int = 0
    """The most dead letters left open (not replayed or discarded) at a sample."""
    breaker_open_s: float = 0.0
    headroom_min: float | None = None
    missed_by_webhooks: int = 0

    def as_row(self) -> dict[str, object]:
        """The row the store keeps (the histogram as text: one column, any bucket count)."""
        row = {f.name: getattr(self, f.name) for f in fields(self)}
        row["latency_buckets"] = ",".join(map(str, self.latency_buckets))
        return row


class MinuteRecorder:
    """Folds the engine's events into per-flow minutes.

    Args:
        wall: the clock (Unix seconds) that stamps each event's minute.
        freshness_slo_s: each flow's freshness SLO, which decides what counts as `late`.
    """

    def __init__(
        self, wall: Callable[[], float], freshness_slo_s: Mapping[str, float] | None = None
    ) -> None:
        self._wall = wall
        self._slo_s = dict(freshness_slo_s or {})
        self._minutes: dict[tuple[str, int], FlowMinute] = {}
        self._last_read: dict[str, float] = {}

    def _at(self, flow: str) -> FlowMinute:
        minute = int(self._wall() // 60 * 60)
        row = self._minutes.get((flow, minute))
        if row is None:
            row = self._minutes[(flow, minute)] = FlowMinute(flow, minute)
        return row

    def took_in(self, flow: str, changes: int) -> None:
        """A page of `changes` was journaled (by a read or by webhooks)."""
        self._at(flow).changes_in += changes

    def read(self, flow: str, at: float) -> None:
        """A read of the source finished; the gap since the last one is the achieved interval."""
        row = self._at(flow)
        row.reads += 1
        last = self._last_read.get(flow)
        if last is not None:
            row.read_gap_max_s = max(row.read_gap_max_s, at - last)
        self._last_read[flow] = at

    def delivered(
        self,
        flow: str,
        *,
        written: int,
        attempts: int,
        retries_transient: int,
        retries_rate_limited: int,
        retries_timeout: int = 0,
        dead_lettered: int,
        write_s: float,
        lag_s: float,
    ) -> None:
        """A batch was delivered: how much, how hard, how long, and how stale it arrived."""
        row = self._at(flow)
        row.changes_out += written
        row.batches += 1
        row.attempts += attempts
        row.retries_transient += retries_transient
        row.retries_rate_limited += retries_rate_limited
        row.retries_timeout += retries_timeout
        row.dead_lettered += dead_lettered
        latency_ms = write_s * 1000
        row.latency_sum_ms += latency_ms
        row.latency_buckets[bisect.bisect_left(LATENCY_BOUNDS_MS, latency_ms)] += 1
        row.lag_sum_s += lag_s
        row.lag_max_s = max(row.lag_max_s, lag_s)
        if lag_s > self._slo_s.get(flow, float("inf")):
            row.late += written

    def sampled(
        self,
        flow: str,
        *,
        backlog: int,
        breaker_open_s: float,
        headroom: float | None,
        missed: int = 0,
        requests: int = 0,
        dead_letters: int = 0,
    ) -> None:
        """Gauges sampled at a flush (backlog, headroom, open dead letters), and the breaker
        time, missed changes and requests since the last sample."""
        row = self._at(flow)
        row.backlog_max = max(row.backlog_max, backlog)
        row.dead_letters_max = max(row.dead_letters_max, dead_letters)
        row.requests += requests
        row.breaker_open_s += breaker_open_s
        row.missed_by_webhooks += missed
        if headroom is not None:
            row.headroom_min = (
                headroom if row.headroom_min is None else min(row.headroom_min, headroom)
            )

    def drain(self) -> list[FlowMinute]:
        """The minutes gathered since the last drain; the recorder starts afresh."""
        rows = list(self._minutes.values())
        self._minutes.clear()
        return rows
