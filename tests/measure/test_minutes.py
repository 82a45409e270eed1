"""The minute recorder folds events into per-flow minutes; the store adds flushes together."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from syncwell import Engine, load_workspace
from syncwell.measure import LATENCY_BOUNDS_MS, MinuteRecorder
from syncwell.store import Store, open_store


class Wall:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def test_events_fold_into_the_minute_they_happened_in() -> None:
    """Counters add within a minute; a new minute starts a new row; gauges keep extremes."""
    wall = Wall(120.5)
    recorder = MinuteRecorder(wall)
    recorder.took_in("f", 10)
    recorder.delivered(
        "f", written=8, attempts=2, retries_transient=1, retries_rate_limited=0,
        dead_lettered=1, write_s=0.04, lag_s=3.0,
    )  # fmt: skip
    recorder.sampled("f", backlog=5, breaker_open_s=0.0, headroom=0.5)
    recorder.sampled("f", backlog=2, breaker_open_s=1.5, headroom=0.2)
    wall.at = 185.0
    recorder.took_in("f", 1)
    first, second = sorted(recorder.drain(), key=lambda m: m.minute)
    assert (first.minute, second.minute) == (120, 180)
    assert (first.changes_in, first.changes_out, first.dead_lettered) == (10, 8, 1)
    assert (first.backlog_max, first.breaker_open_s, first.headroom_min) == (5, 1.5, 0.2)
    assert first.latency_buckets[LATENCY_BOUNDS_MS.index(50)] == 1  # 40 ms falls under 50
    assert second.changes_in == 1
    assert recorder.drain() == []


def test_a_destination_s_requests_count_when_the_write_that_spent_them_ends() -> None:
    """A write of 100 changes spends its 100 requests over a minute and a half: the minute
    it is still under way counts none of them (its changes have not been written yet), the
    minute it ends counts all of them with its changes; so does a read's share, at once."""
    wall, spent = Wall(60.0), {"f": 0}
    recorder = MinuteRecorder(wall, written_requests=lambda flow: spent[flow])
    spent["f"] = 60  # the write is under way when the engine flushes
    recorder.sampled("f", backlog=100, breaker_open_s=0.0, headroom=None, requests=3)
    (under_way,) = recorder.drain()
    assert (under_way.requests, under_way.changes_out) == (3, 0)
    wall.at = 150.0
    spent["f"] = 100
    recorder.delivered(
        "f", written=100, attempts=1, retries_transient=0, retries_rate_limited=0,
        dead_lettered=0, write_s=90.0, lag_s=95.0,
    )  # fmt: skip
    (ended,) = recorder.drain()
    assert (ended.requests, ended.changes_out, ended.batches) == (100, 100, 1)


async def test_two_flushes_of_one_minute_add_up(state_store: Store) -> None:
    """A minute flushed twice holds the sum of counters and the extremes of gauges."""
    wall = Wall(60.0)
    recorder = MinuteRecorder(wall)
    for backlog, headroom in ((7, 0.9), (3, 0.4)):
        recorder.took_in("f", 5)
        recorder.delivered(
            "f", written=5, attempts=1, retries_transient=0, retries_rate_limited=0,
            dead_lettered=0, write_s=2.0, lag_s=backlog,
        )  # fmt: skip
        recorder.sampled("f", backlog=backlog, breaker_open_s=0.5, headroom=headroom)
        await state_store.measurements.add([m.as_row() for m in recorder.drain()])
    (row,) = await state_store.measurements.read(since=0)
    assert (row["changes_in"], row["changes_out"], row["batches"]) == (10, 10, 2)
    assert (row["backlog_max"], row["lag_max_s"], row["headroom_min"]) == (7, 7.0, 0.4)
    assert row["breaker_open_s"] == 1.0
    buckets = [int(x) for x in str(row["latency_buckets"]).split(",")]
    assert buckets[LATENCY_BOUNDS_MS.index(2500)] == 2


async def test_a_run_leaves_its_minutes_in_the_store(tmp_path: Path) -> None:
    """A one-off sync of 500 rows: the minutes say 500 in, 500 out, at least one read."""
    for name in ("a", "b"):
        with sqlite3.connect(tmp_path / f"{name}.db") as db:
            db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL)")
    with sqlite3.connect(tmp_path / "a.db") as db:
        db.executemany(
            "INSERT INTO t VALUES (?, ?)", [(i, f"2026-01-01 00:{i % 60:02d}") for i in range(500)]
        )
    (tmp_path / "syncwell.yaml").write_text(
        "systems:\n  a: {kind: sqlite, path: a.db}\n  b: {kind: sqlite, path: b.db}\n"
        "flows:\n  f: {source: a, destination: b, stream: t, key: id, cursor: at, lookback: 0s}\n"
    )
    workspace = load_workspace(tmp_path / "syncwell.yaml")
    await Engine(workspace).run(once=True)
    store = await open_store(workspace.state)
    try:
        rows = await store.measurements.read(since=0, flow="f")
    finally:
        await store.close()
    assert sum(int(r["changes_in"]) for r in rows) >= 500
    assert sum(int(r["changes_out"]) for r in rows) >= 500
    assert sum(int(r["reads"]) for r in rows) >= 1
