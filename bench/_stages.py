"""Wall time per stage of a sync, measured in-process by wrapping the stages' entry points.

The profile says where the event loop's CPU goes; this says where the waiting goes (PostgreSQL,
SQLite commits), which cProfile books under ``epoll.poll``. Intake and delivery run side by
side, so the stages overlap and their sum exceeds the run's wall time. The wrappers are put in
place for one run and taken out after it; syncwell's code is not changed.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["render_stages", "stage_times"]


def _targets() -> list[tuple[object, str, str]]:
    import asyncpg

    from syncwell.connectors.postgres.destination import PostgresDestination
    from syncwell.engine import delivery
    from syncwell.store import journal

    return [
        (asyncpg.Connection, "fetch", "source: fetch a page (asyncpg)"),
        (journal.Journal, "append", "journal: append (encode, insert, commit)"),
        (journal, "encode_batch", "  of which msgpack encode"),
        (journal.Journal, "pending", "journal: pending (select, decode)"),
        (journal, "decode_batch", "  of which msgpack decode"),
        (delivery, "coalesce", "delivery: coalesce"),
        (PostgresDestination, "write", "destination: write (whole transaction)"),
        (asyncpg.Connection, "copy_records_to_table", "  of which binary COPY to stage"),
        (asyncpg.Connection, "execute", "  of which execute (create stage, merge)"),
        (journal.Journal, "complete", "journal: complete (delete, record, commit)"),
    ]


def _wrapped(original: Callable[..., Any], label: str, totals: dict[str, list[float]]) -> Any:
    def add(started: float) -> None:
        entry = totals[label]
        entry[0] += time.perf_counter() - started
        entry[1] += 1

    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                add(started)

        return timed_async

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            add(started)

    return timed


@contextmanager
def stage_times(
    targets: list[tuple[object, str, str]] | None = None,
) -> Iterator[dict[str, list[float]]]:
    """Time the stages (PG->PG's unless `targets` names others) while inside.

    Yields label -> [seconds, calls].
    """
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    saved = []
    for owner, name, label in _targets() if targets is None else targets:
        original = getattr(owner, name, None)
        if original is None:  # syncwell moved on: that stage goes unmeasured, not the run
            continue
        saved.append((owner, name, original))
        setattr(owner, name, _wrapped(original, label, totals))
    try:
        yield totals
    finally:
        for owner, name, original in reversed(saved):
            setattr(owner, name, original)


def render_stages(totals: dict[str, list[float]], wall_s: float) -> str:
    """The stages in pipeline order, with seconds, calls and share of the run's wall time."""
    order = [label for _, _, label in _targets()]
    lines = [f"wall time per stage (overlapping; the run took {wall_s:.2f}s):"]
    for label in order:
        if label in totals:
            seconds, calls = totals[label]
            share = seconds / wall_s * 100
            lines.append(f"  {label:<44} {seconds:8.2f}s {int(calls):7d} calls {share:5.0f}%")
    return "\n".join(lines)
