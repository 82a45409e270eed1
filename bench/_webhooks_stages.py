"""syncwell's webhook intake in this process, flooded by wrk, with timers on its stages.

The engine and its API run here exactly as ``syncwell run`` runs them (uvicorn inside the
engine's event loop); wrk floods them from a subprocess. Wrappers on the stages' entry points
count calls and wall time, which shows what a request waits for: its group commit, the
statements in it, the delivery beside it. Intake and delivery run side by side and a request
waits while others are served, so the stages overlap and their sum exceeds the wall time. The
wrappers are put in place for this run only; syncwell's code is not changed.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import psutil  # type: ignore[import-untyped]  # no stubs in the dev deps

from _stages import stage_times
from _webhooks_servers import free_port
from _webhooks_wrk import Flood, WrkSettings, flood

__all__ = ["run_staged"]

_SUBMIT = "request: wait for its group commit (submit)"
_GROUP = "committer: one group (Inbox.take)"
_DELIVERY = "delivery: one batch (deliver_next)"


def _targets() -> list[tuple[object, str, str]]:
    from syncwell.api import hooks
    from syncwell.connectors.sqlite.destination import SqliteDestination
    from syncwell.engine import delivery, webhooks
    from syncwell.store import inbox, journal

    return [
        (hooks.HookEndpoint, "respond", "request: whole handler"),
        (hooks, "verify", "request: verify the signature"),
        (webhooks.EventRouter, "event", "request: translate the event"),
        (webhooks.GroupCommitter, "submit", _SUBMIT),
        (inbox.Inbox, "take", _GROUP),
        (inbox, "_claim_ids", "  claim the event ids (insert ... returning)"),
        (inbox, "insert_entry", "  insert journal entries"),
        (inbox, "seen_versions", "  read the versions seen"),
        (inbox, "note_seen", "  upsert the versions seen"),
        (delivery.FlowDelivery, "deliver_next", _DELIVERY),
        (journal.Journal, "pending", "  read the journal (pending)"),
        (SqliteDestination, "write", "  write core.db (SqliteDestination.write)"),
        (journal.Journal, "complete", "  mark delivered (Journal.complete)"),
    ]


def _cpu_by_thread() -> tuple[float, float]:
    """CPU seconds of this process so far: all threads, and the main one (the event loop)."""
    process = psutil.Process()
    times = process.cpu_times()
    main = next((t for t in process.threads() if t.id == os.getpid()), None)
    return times.user + times.system, 0.0 if main is None else main.user_time + main.system_time


async def _flooded(
    workspace: Path, requests_file: Path, settings: WrkSettings, folder: Path
) -> Flood:
    from syncwell import Engine, load_workspace
    from syncwell.api import ApiServer, create_app

    engine = Engine(load_workspace(workspace))
    stop = asyncio.Event()
    server = ApiServer(create_app(engine), port=free_port())
    running = asyncio.create_task(engine.run(stop=stop))
    serving = asyncio.create_task(server.serve(stop))
    try:
        while engine.committer is None and not running.done():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        url = f"http://127.0.0.1:{server.port}"
        return await asyncio.to_thread(flood, url, requests_file, settings, folder)
    finally:
        stop.set()
        await asyncio.gather(running, serving)


def run_staged(
    workspace: Path, requests_file: Path, settings: WrkSettings, folder: Path
) -> tuple[Flood, str]:
    """Flood syncwell in this process; return what wrk saw and the stage report."""
    with stage_times(_targets()) as stages:
        total_before, loop_before = _cpu_by_thread()
        flooded = asyncio.run(_flooded(workspace, requests_file, settings, folder))
        total_after, loop_after = _cpu_by_thread()
    loop_s, total_s = loop_after - loop_before, total_after - total_before
    wall = flooded.duration_s
    lines = [
        f"{flooded.rate:,.0f} answered/s in-process (wrappers included); CPU {total_s:.1f}s in "
        f"all, {loop_s:.1f}s on the event loop, {total_s - loop_s:.1f}s on other threads "
        f"(aiosqlite's, the SQLite destination's), over about {wall:.0f}s",
    ]
    groups, submits = stages[_GROUP][1], stages[_SUBMIT][1]
    if groups:
        lines.append(f"{submits / groups:.1f} events per group commit on average")
    lines.append("wall time per stage (overlapping):")
    for _, _, label in _targets():
        if label in stages:
            seconds, calls = stages[label]
            each = seconds / calls * 1e3 if calls else 0.0
            lines.append(f"  {label:<48} {seconds:8.2f}s {int(calls):7d} calls {each:7.2f} ms")
    return flooded, "\n".join(lines)
