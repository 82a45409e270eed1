"""Minutes roll up by hour and by day as they are flushed, exactly, however often."""

from __future__ import annotations

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
    """A minute flushed three times counts once in its hour, and turns busy when a later
    flush sees a backlog: then everything it wrote counts as written while busy."""
    wall = Wall(7200.0)
    recorder = MinuteRecorder(wall, {"f": 2.0})
    for written, backlog in ((4, 0), (6, 0), (5, 9)):
        recorder.took_in("f", written)
        _deliver(recorder, written, lag_s=3.0 if written == 6 else 1.0)
        recorder.sampled("f", backlog=backlog, breaker_open_s=0.0, headroom=None, requests=2)
        await state_store.measurements.add([m.as_row() for m in recorder.drain()])
    wall.at = 7260.0  # the next minute: idle, no backlog
    recorder.took_in("f", 1)
    recorder.sampled("f", backlog=0, breaker_open_s=0.0, headroom=None)
    await state_store.measurements.add([m.as_row() for m in recorder.drain()])

    (hour,) = await state_store.measurements.totals(since=0, until=10**9)
    assert (hour["minutes"], hour["busy_minutes"], hour["out_busy"]) == (2, 1, 15)
    assert (hour["changes_in"], hour["changes_out"], hour["batches"]) == (16, 15, 3)
    assert (hour["late"], hour["requests"], hour["retries_timeout"]) == (6, 6, 3)
    assert hour["backlog_max"] == 9
    (day,) = await state_store.measurements.totals(since=0, until=10**9, span_s=86400)
    assert {k: day[k] for k in hour} == hour


async def test_totals_take_only_the_spans_in_the_window(state_store: Store) -> None:
    """Hours outside [since, until) are left out; each flow gets its own row."""
    wall = Wall(0.0)
    recorder = MinuteRecorder(wall)
    for at, flow in ((10.0, "a"), (HOUR + 10.0, "a"), (HOUR + 20.0, "b"), (3 * HOUR, "a")):
        wall.at = at
        recorder.took_in(flow, 1)
    await state_store.measurements.add([m.as_row() for m in recorder.drain()])
    rows = await state_store.measurements.totals(since=HOUR, until=3 * HOUR)
    assert {r["flow"]: r["changes_in"] for r in rows} == {"a": 1, "b": 1}
    series = await state_store.measurements.series(
        ["changes_in"], since=0, until=4 * HOUR, span_s=HOUR
    )
    assert [(r["flow"], r["start"]) for r in series if r["flow"] == "a"] == [
        ("a", 0), ("a", HOUR), ("a", 3 * HOUR)
    ]  # fmt: skip
