"""A full sync in this process, measured twice: stage by stage, then under cProfile.

The first run wraps the stages' entry points with timers (see _stages.py) and shows what the
event loop waits for, at nearly full speed. The second runs under cProfile, which sees the
event loop's thread only (SQLite work runs in aiosqlite's threads) and slows Python down, so
its times are for ranking functions, not for rows/s.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import os
import pstats
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil  # type: ignore[import-untyped]  # no stubs in the dev deps

from _stages import render_stages, stage_times
from syncwell.engine import Engine
from syncwell.workspace import load_workspace

__all__ = ["Measured", "run_profiled", "run_staged"]


@dataclass(frozen=True, slots=True)
class Measured:
    """An in-process run: its wall time, the rows it delivered and the printed findings."""

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


def _sync(workspace: Path, around: Callable[[Callable[[], None]], None]) -> tuple[float, int]:
    engine = Engine(load_workspace(workspace))
    started = time.perf_counter()
    around(lambda: asyncio.run(engine.run(once=True)))
    seconds = time.perf_counter() - started
    return seconds, sum(p.written for p in engine.progress.values())


def run_staged(workspace: Path) -> Measured:
    """A full sync with timers on its stages, and its CPU split by thread."""
    with stage_times() as stages:  # imports what it wraps: before the CPU is counted
        total_before, main_before = _cpu()
        seconds, delivered = _sync(workspace, lambda sync: sync())
        total_after, main_after = _cpu()
    main_s, total_s = main_after - main_before, total_after - total_before
    report = (
        f"CPU during the sync: {total_s:.2f}s in all, {main_s:.2f}s on the event loop, "
        f"{total_s - main_s:.2f}s on other threads (aiosqlite's SQLite work)\n\n"
        + render_stages(stages, seconds)
    )
    return Measured(seconds, delivered, report)


def run_profiled(workspace: Path, top: int = 25) -> Measured:
    """A full sync under cProfile; the report lists the top functions by own and total time."""
    profiler = cProfile.Profile()

    def profiled(sync: Callable[[], None]) -> None:
        profiler.enable()
        try:
            sync()
        finally:
            profiler.disable()

    seconds, delivered = _sync(workspace, profiled)
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs()
    text.write(f"== top {top} by own time (tottime) ==\n")
    stats.sort_stats(pstats.SortKey.TIME).print_stats(top)
    text.write(f"== top {top} by cumulative time ==\n")
    stats.sort_stats(pstats.SortKey.CUMULATIVE).print_stats(top)
    return Measured(seconds, delivered, text.getvalue())
