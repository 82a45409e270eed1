"""A full sync in this process under cProfile: where syncwell's Python time goes.

cProfile sees the event loop's thread only. SQLite work runs in aiosqlite's thread, so the
CPU time of every thread is printed beside the profile: what the profile cannot see is there.
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

import psutil

__all__ = ["Profiled", "profile_full_sync"]


@dataclass(frozen=True, slots=True)
class Profiled:
    """A profiled run: its wall time, the rows it delivered and the printed findings."""

    seconds: float
    delivered: int
    report: str


def _thread_cpu(before: dict[int, float]) -> str:
    threads = psutil.Process().threads()
    lines = ["CPU seconds per thread during the sync (user+system):"]
    for thread in sorted(threads, key=lambda t: -(t.user_time + t.system_time)):
        spent = thread.user_time + thread.system_time - before.get(thread.id, 0.0)
        name = "event loop (profiled)" if thread.id == os.getpid() else f"thread {thread.id}"
        if spent >= 0.01:
            lines.append(f"  {name:>22}: {spent:8.2f}")
    return "\n".join(lines)


def profile_full_sync(workspace: Path, top: int = 25) -> Profiled:
    """Run `syncwell run --once` on `workspace` here, profiled; report the top functions."""
    from syncwell.engine import Engine
    from syncwell.workspace import load_workspace

    engine = Engine(load_workspace(workspace))
    profiler = cProfile.Profile()
    before = {t.id: t.user_time + t.system_time for t in psutil.Process().threads()}
    started = time.perf_counter()
    profiler.enable()
    asyncio.run(engine.run(once=True))
    profiler.disable()
    seconds = time.perf_counter() - started
    threads = _thread_cpu(before)
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs()
    text.write(f"== top {top} by own time (tottime) ==\n")
    stats.sort_stats(pstats.SortKey.TIME).print_stats(top)
    text.write(f"== top {top} by cumulative time ==\n")
    stats.sort_stats(pstats.SortKey.CUMULATIVE).print_stats(top)
    delivered = sum(p.delivered_changes for p in engine.progress.values())
    return Profiled(seconds, delivered, f"{threads}\n\n{text.getvalue()}")
