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
from typing import Literal

from syncwell.measure.answers import Answer, DownSpans, answer_of, said_how_long

__all__ = ["LATENCY_BOUNDS_MS", "FlowMinute", "MinuteRecorder", "Side"]

Side = Literal["source", "destination"]
"""Which of a flow's systems answered: the one it reads, or the one it writes."""

LATENCY_BOUNDS_MS = (10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
"""Upper bounds of the write-latency histogram's buckets, ms; one more bucket holds the rest."""


@dataclass(slots=True)
class FlowMinute:
    """One flow's minute. Counters add up; `*_max` keep the largest, `headroom_min` the least."""

    flow: str
    minute: int
    """Unix seconds at the start of the minute."""
    measured_s: float = 0.0
    """Seconds of the minute the engine was running (a run's first and last minutes are
    partial): rates are per measured second, not per minute row."""
    changes_in: int = 0
    backfill_in: int = 0
    """Of changes_in, those a full read took in (a first sync, a flow without a cursor):
    work done once, not the flow's steady demand."""
    screened: int = 0
    """Changes dropped before writing (echoes, stale versions, lost conflicts): no write."""
    changes_out: int = 0
    batches: int = 0
    attempts: int = 0
    retries_transient: int = 0
    retries_rate_limited: int = 0
    retries_timeout: int = 0
    dead_lettered: int = 0
    busy_s: float = 0.0
    """Seconds spent writing batches while more changes waited behind them."""
    out_busy: int = 0
    """Changes those batches wrote: out_busy / busy_s is the rate the flow sustains."""
    reads: int = 0
    read_failures: int = 0
    """Reads of the source that failed (after their retries)."""
    reads_rate_limited: int = 0
    """Of those, reads the source answered 429: a rate-limit signal, not an outage."""
    reads_timed_out: int = 0
    """Of those, reads the source gave no answer to in time."""
    misconfigured: int = 0
    """Reads and write attempts that failed because the workspace does not fit the system
    (`MisconfiguredError`: a key column that allows NULL, a missing column): the user's mistake."""
    read_gap_max_s: float = 0.0
    latency_sum_ms: float = 0.0
    latency_buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BOUNDS_MS) + 1))
    lag_sum_s: float = 0.0
    lag_max_s: float = 0.0
    late: int = 0
    """Changes written later than the flow's freshness SLO after their change at the source."""
    requests: int = 0
    """Requests sent for the flow that spent a system's rate-limit budget: its source's as
    they are sent, its destination's as each write ends (see `MinuteRecorder`)."""
    backlog_max: int = 0
    dead_letters_max: int = 0
    """The most dead letters left open (not replayed or discarded) at a sample."""
    breaker_open_s: float = 0.0
    source_down_s: float = 0.0
    """Seconds the source gave no successful answer while its answers showed it down
    (measure/answers.py): from the first failed read of such a spell to the next good one."""
    destination_down_s: float = 0.0
    """Likewise for the destination, from the answers to write attempts."""
    headroom_min: float | None = None
    source_rate_min: float | None = None
    """The least requests/s the source's rate limiter allowed (configured or learned)."""
    destination_rate_min: float | None = None
    missed_by_webhooks: int = 0
    verified: int = 0
    """Written records read back to verify them (engine/verify.py)."""
    drifted: int = 0
    """Of those, records with a field that came back different, or gone."""
    slot_retained_bytes_max: int | None = None
    """A `mode: cdc` flow: the most WAL its replication slot kept at a sample (measure/slots.py)."""
    slot_retained_s_max: float | None = None
    """Likewise, the furthest behind in time its confirmed position was, seconds."""

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
        written_requests: the requests a flow has spent so far on its destination's
            rate-limit budget. They are counted as each write ends, with its changes, so that
            no measurement holds a write's requests without the changes they carried (a write
            in flight at a flush counts once it ends); requests spent between writes (a first
            sync's listing, read-backs) count with the next one.
    """

    def __init__(
        self,
        wall: Callable[[], float],
        freshness_slo_s: Mapping[str, float] | None = None,
        written_requests: Callable[[str], int] | None = None,
    ) -> None:
        self._wall = wall
        self._slo_s = dict(freshness_slo_s or {})
        self._written_requests = written_requests
        self._requests_written: dict[str, int] = {}
        self._minutes: dict[tuple[str, int], FlowMinute] = {}
        self._last_read: dict[str, float] = {}
        self._started = wall()
        self._covered: dict[str, float] = {}
        self._down: dict[tuple[str, Side], DownSpans] = {}

    def _at(self, flow: str, at: float | None = None) -> FlowMinute:
        minute = int((self._wall() if at is None else at) // 60 * 60)
        row = self._minutes.get((flow, minute))
        if row is None:
            row = self._minutes[(flow, minute)] = FlowMinute(flow, minute)
        return row

    def took_in(self, flow: str, changes: int, *, backfill: bool = False) -> None:
        """A page of `changes` was journaled (by a read or by webhooks); `backfill` when a
        full read took them in."""
        row = self._at(flow)
        row.changes_in += changes
        if backfill:
            row.backfill_in += changes

    def screened(self, flow: str, changes: int) -> None:
        """`changes` were dropped before writing: echoes, stale versions, lost conflicts."""
        self._at(flow).screened += changes

    def read(self, flow: str, at: float) -> None:
        """A read of the source finished; the gap since the last one is the achieved interval."""
        row = self._at(flow)
        row.reads += 1
        self._answered(flow, "source", None, 1)
        last = self._last_read.get(flow)
        if last is not None:
            row.read_gap_max_s = max(row.read_gap_max_s, at - last)
        self._last_read[flow] = at

    def read_failed(self, flow: str, error: BaseException, *, in_a_row: int) -> None:
        """A read of the source failed with `error`: counted by what it is a sign of
        (measure/answers.py); `in_a_row` failed answers in a row show the source down."""
        row = self._at(flow)
        row.read_failures += 1
        answer = answer_of(error)
        if answer is Answer.RATE_LIMITED:
            row.reads_rate_limited += 1
        elif answer is Answer.TIMED_OUT:
            row.reads_timed_out += 1
        elif answer is Answer.MISCONFIGURED:
            row.misconfigured += 1
        self._answered(flow, "source", error, in_a_row)

    def attempted(self, flow: str, error: BaseException | None, *, in_a_row: int) -> None:
        """A write attempt ended: `error` is what it raised (None: it succeeded); `in_a_row`
        failed answers in a row show the destination down."""
        if answer_of(error) is Answer.MISCONFIGURED:
            self._at(flow).misconfigured += 1
        self._answered(flow, "destination", error, in_a_row)

    def _answered(self, flow: str, side: Side, error: BaseException | None, in_a_row: int) -> None:
        spans = self._down.get((flow, side))
        if spans is None:
            if error is None:
                return  # nothing failed yet: nothing to end
            spans = self._down[(flow, side)] = DownSpans(in_a_row)
        span = spans.answered(answer_of(error), self._wall(), said_how_long=said_how_long(error))
        self._spread_down(flow, side, span)

    def _spread_down(self, flow: str, side: Side, span: tuple[float, float] | None) -> None:
        """Add a down span's seconds to the minutes it covers."""
        if span is None:
            return
        start, end = span
        while start < end:
            upto = min(end, (start // 60 + 1) * 60)
            row = self._at(flow, start)
            if side == "source":
                row.source_down_s += upto - start
            else:
                row.destination_down_s += upto - start
            start = upto

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
        busy: bool = False,
    ) -> None:
        """A batch was delivered: how much, how hard, how long, and how stale it arrived;
        `busy` when more changes waited behind it (then its rate is the flow's capacity)."""
        row = self._at(flow)
        if busy:
            row.busy_s += write_s
            row.out_busy += written
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
        if self._written_requests is not None:
            spent = self._written_requests(flow)
            row.requests += spent - self._requests_written.get(flow, 0)
            self._requests_written[flow] = spent

    def verified(self, flow: str, records: int, drifted: int) -> None:
        """`records` written were read back; `drifted` of them came back different."""
        row = self._at(flow)
        row.verified += records
        row.drifted += drifted

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
        rates: tuple[float | None, float | None] = (None, None),
    ) -> None:
        """Gauges sampled at a flush (backlog, headroom, open dead letters, the source's and
        destination's request rates), and the breaker time, missed changes and requests since
        the last sample. The time since the last sample counts as measured, and so does a
        spell of downtime still under way (up to now)."""
        self._cover(flow)
        for side in ("source", "destination"):
            spans = self._down.get((flow, side))
            if spans is not None:
                self._spread_down(flow, side, spans.so_far(self._wall()))
        row = self._at(flow)
        row.source_rate_min = _least(row.source_rate_min, rates[0])
        row.destination_rate_min = _least(row.destination_rate_min, rates[1])
        row.backlog_max = max(row.backlog_max, backlog)
        row.dead_letters_max = max(row.dead_letters_max, dead_letters)
        row.requests += requests
        row.breaker_open_s += breaker_open_s
        row.missed_by_webhooks += missed
        row.headroom_min = _least(row.headroom_min, headroom)

    def slot(self, flow: str, retained_bytes: int, retained_s: float) -> None:
        """The flow's replication slot kept `retained_bytes` of WAL, its confirmed position
        `retained_s` behind (a gauge: the minute keeps the most)."""
        row = self._at(flow)
        row.slot_retained_bytes_max = max(row.slot_retained_bytes_max or 0, retained_bytes)
        row.slot_retained_s_max = max(row.slot_retained_s_max or 0.0, retained_s)

    def _cover(self, flow: str) -> None:
        """Count the seconds since the flow's last sample as measured, minute by minute."""
        now = self._wall()
        start = self._covered.get(flow, self._started)
        while start < now:
            end = min(now, (start // 60 + 1) * 60)
            self._at(flow, start).measured_s += end - start
            start = end
        self._covered[flow] = now

    def drain(self) -> list[FlowMinute]:
        """The minutes gathered since the last drain; the recorder starts afresh."""
        rows = list(self._minutes.values())
        self._minutes.clear()
        return rows


def _least(kept: float | None, seen: float | None) -> float | None:
    if seen is None:
        return kept
    return seen if kept is None else min(kept, seen)
