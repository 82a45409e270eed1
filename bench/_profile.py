"""A full sync in this process under cProfile: where syncwell's Python time goes.

cProfile sees the event loop's thread only; SQLite work runs in aiosqlite's threads. So the
report also gives the process's CPU time split into the event loop and the other threads,
and the wall time per stage (see _stages.py), which shows what the loop waits for.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import os
import pstats
import time
from dataclasses import dataclass
from pathlib import Path

import psutil  # type: ignore[import-untyped]  # no stubs in the dev deps

from _stages import render_stages, stage_times

__all__ = ["Profiled", "profile_full_sync"]


@dataclass(frozen=True, slots=True)
class Profiled:
    """A profiled run: its wall time, the rows it delivered and the printed findings."""

    seconds: float
    delivered: int
    report: str


def _cpu() -> tuple[float, float]:
    """CPU seconds (user+system) of the whole process and of its main thread."""
    process = psutil.Process()
    times = process.cpu_times()
    main = next((t for t in process.threads() if t.id == os.getpid()), None)
    main_s = 0.0 if main is None else main.user_time + main.system_time
    return times.user + times.system, main_s


def profile_full_sync(workspace: Path, top: int = 25) -> Profiled:
    """Run `syncwell run --once` on `workspace` here, profiled; report the top functions."""
    from syncwell.engine import Engine
    from syncwell.workspace import load_workspace

    engine = Engine(load_workspace(workspace))
    profiler = cProfile.Profile()
    total_before, main_before = _cpu()
    with stage_times() as stages:
        started = time.perf_counter()
        profiler.enable()
        asyncio.run(engine.run(once=True))
        profiler.disable()
        seconds = time.perf_counter() - started
    total_after, main_after = _cpu()
    main_s, total_s = main_after - main_before, total_after - total_before
    text = io.StringIO()
    text.write(
        f"CPU during the sync: {total_s:.2f}s in all, {main_s:.2f}s on the event loop, "
        f"{total_s - main_s:.2f}s on other threads (aiosqlite, the profiler's own)\n\n"
    )
    text.write(render_stages(stages, seconds) + "\n\n")
    stats = pstats.Stats(profiler, stream=text).strip_dirs()
    text.write(f"== top {top} by own time (tottime) ==\n")
    stats.sort_stats(pstats.SortKey.TIME).print_stats(top)
    text.write(f"== top {top} by cumulative time ==\n")
    stats.sort_stats(pstats.SortKey.CUMULATIVE).print_stats(top)
    delivered = sum(p.delivered_changes for p in engine.progress.values())
    return Profiled(seconds, delivered, text.getvalue())
