"""Minutes roll up by hour and by day as they are flushed, exactly, however often."""

from __future__ import annotations

import random

from syncwell.measure import MinuteRecorder
from syncwell.store import Store
from syncwell.store.measurements import HOUR


class Wall:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def _deliver(recorder: MinuteRecorder, written: int, lag_s: float = 1.0) -> None:
    recorder.delivered(
        "f", written=written, attempts=1, retries_transient=0, retries_rate_limited=0,
        retries_timeout=1, dead_lettered=0, write_s=0.02, lag_s=lag_s,
    )  # fmt: skip


async def test_flushes_of_one_minute_roll_up_once(state_store: Store) -> None:
    """A minute flushed three times counts once in its hour and its day: counters add, the
    busy time counts only batches with more behind them, and the seconds measured are the
    time between samples."""
    wall = Wall(7200.0)
    recorder = MinuteRecorder(wall, {"f": 2.0})
    for written, busy, at in ((4, False, 7210.0), (6, True, 7230.0), (5, True, 7250.0)):
        wall.at = at
        recorder.took_in("f", written)
        recorder.delivered(
            "f", written=written, attempts=1, retries_transient=0, retries_rate_limited=0,
            retries_timeout=1, dead_lettered=0, write_s=0.5, lag_s=3.0 if written == 6 else 1.0,
            busy=busy,
        )  # fmt: skip
        recorder.sampled("f", backlog=written, breaker_open_s=0.0, headroom=None, requests=2)
        await state_store.measurements.add([m.as_row() for m in recorder.drain()])
    wall.at = 7290.0  # the next minute, 30 s in
    recorder.took_in("f", 1)
    recorder.sampled("f", backlog=0, breaker_open_s=0.0, headroom=None, rates=(None, 4.0))
    await state_store.measurements.add([m.as_row() for m in recorder.drain()])

    (hour,) = await state_store.measurements.totals(since=3600, until=10800)
    assert (hour["measured_s"], hour["busy_s"], hour["out_busy"]) == (90.0, 1.0, 11)
    assert (hour["changes_in"], hour["changes_out"], hour["batches"]) == (16, 15, 3)
    assert (hour["late"], hour["requests"], hour["retries_timeout"]) == (6, 6, 3)
    assert (hour["backlog_max"], hour["destination_rate_min"]) == (6, 4.0)
    (day,) = await state_store.measurements.totals(since=0, until=3 * 86400)
    assert day == hour


async def test_any_window_adds_up_its_minutes_exactly(state_store: Store) -> None:
    """Minutes spread over three days: a window under 3 hours, cut anywhere, totals exactly
    the minutes in it (hours and edge minutes); a longer one, the minutes of its whole hours."""
    rng = random.Random(7)
    wall = Wall(0.0)
    recorder = MinuteRecorder(wall)
    events = sorted(rng.uniform(0, 3 * 86400) for _ in range(400))
    for at in events:
        wall.at = at
        recorder.took_in(rng.choice("ab"), rng.randint(1, 9))
    await state_store.measurements.add([m.as_row() for m in recorder.drain()])
    minutes = await state_store.measurements.read(since=0)
    for short in [True, False] * 8:
        since = rng.randrange(0, 2 * 86400, 60)
        until = since + (
            rng.randrange(60, 3 * HOUR, 60) if short else rng.randrange(3 * HOUR, 86400, 60)
        )
        whole_hours = (since // HOUR * HOUR, -(-until // HOUR) * HOUR)
        first, end = (since, until) if short else whole_hours
        expected: dict[str, int] = {}
        for row in minutes:
            if first <= int(row["minute"]) < end:  # type: ignore[call-overload]
                flow = str(row["flow"])
                expected[flow] = expected.get(flow, 0) + int(row["changes_in"])  # type: ignore[call-overload]
        found = await state_store.measurements.totals(since=since, until=until)
        assert {str(r["flow"]): r["changes_in"] for r in found} == expected, (since, until)
    week = await state_store.measurements.totals(since=0, until=7 * 86400)  # whole days
    assert sum(int(r["changes_in"]) for r in week) == sum(  # type: ignore[call-overload]
        int(r["changes_in"])  # type: ignore[call-overload]
        for r in minutes
    )
