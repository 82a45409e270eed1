"""What measuring costs: the engine's per-minute recorder and its flushes, against a sync.

The recorder does a few dictionary updates per delivered batch and per read, and the engine
flushes once every 10 s: one small transaction and one backlog query. This replays the events
of a 1,000,000-row first sync (batch_size 5000: 200 batches, 200 pages read) and of a long
realtime run (webhook batches every 0.2 s for an hour) through the real recorder and the real
store, and reports the time they take next to the time the sync itself takes (read from a
`bench/pg_to_pg.py --json` result when given, else the documented median).

Run: ``.venv/bin/python bench/measure_overhead.py [--sync-seconds 15.6]``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from syncwell.measure import MinuteRecorder
from syncwell.store import open_store

_DOCUMENTED_SYNC_S = 15.6
"""syncwell's median 1,000,000-row first sync in docs/benchmarks.md (13.6-17.6 s)."""


def _replay(recorder: MinuteRecorder, batches: int, flows: int) -> float:
    started = time.perf_counter()
    for index in range(batches):
        flow = f"flow{index % flows}"
        recorder.took_in(flow, 5000)
        recorder.read(flow, float(index))
        recorder.delivered(
            flow, written=5000, attempts=1, retries_transient=0, retries_rate_limited=0,
            dead_lettered=0, write_s=0.05, lag_s=2.0,
        )  # fmt: skip
    return time.perf_counter() - started


async def _flushes(count: int, flows: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        store = await open_store(f"sqlite:///{Path(folder) / 'state.db'}")
        wall = [0.0]
        recorder = MinuteRecorder(lambda: wall[0])
        started = time.perf_counter()
        for index in range(count):
            wall[0] = index * 10.0
            for flow in range(flows):
                recorder.took_in(f"flow{flow}", 1)
                recorder.sampled(f"flow{flow}", backlog=0, breaker_open_s=0.0, headroom=None)
            await store.journal.backlog()
            await store.measurements.add([m.as_row() for m in recorder.drain()])
        elapsed = time.perf_counter() - started
        await store.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sync-seconds", type=float, default=_DOCUMENTED_SYNC_S)
    args = parser.parse_args()
    recorder = MinuteRecorder(time.time)
    per_sync = _replay(recorder, batches=200, flows=1)
    flushes_per_sync = max(1, round(args.sync_seconds / 10))
    flush_s = asyncio.run(_flushes(60, flows=5)) / 60
    total = per_sync + flushes_per_sync * flush_s
    hour = _replay(MinuteRecorder(time.time), batches=18_000, flows=5)
    print(f"recorder, 200 batches of 5000 (a 1M-row sync): {per_sync * 1000:.2f} ms")
    print(f"one flush (5 flows: backlog query + measurements upsert): {flush_s * 1000:.2f} ms")
    print(f"a {args.sync_seconds:.1f} s sync: {flushes_per_sync} flushes")
    print(f"measuring costs {total * 1000:.1f} ms of a {args.sync_seconds:.1f} s sync: "
          f"{total / args.sync_seconds:.3%} (target < 5%)")  # fmt: skip
    hourly = hour + 360 * flush_s
    print(f"an hour of realtime (18,000 webhook batches, 5 flows): {hour * 1000:.0f} ms in the "
          f"recorder, {360 * flush_s:.2f} s in 360 flushes: {hourly / 3600:.3%}")  # fmt: skip


if __name__ == "__main__":
    main()
