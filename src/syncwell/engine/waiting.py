"""How the engine's loops wait: on its clock or on events, and never past a stop; and how
the engine waits for its tasks."""

from __future__ import annotations

import asyncio

import structlog

from syncwell.types import Clock

__all__ = ["sleep_or_stop", "supervise", "wait_any"]

log = structlog.get_logger("syncwell.engine")


async def sleep_or_stop(clock: Clock, seconds: float, stop: asyncio.Event) -> None:
    """Sleep on the engine's clock, cut short when `stop` is set."""
    sleeper = asyncio.ensure_future(clock.sleep(seconds))
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        sleeper.cancel()
        stopper.cancel()


async def wait_any(*events: asyncio.Event, timeout: float | None = None) -> None:  # noqa: ASYNC109
    """Return when any event is set, or after `timeout` seconds (a stop cuts a wait short)."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def supervise(
    tasks: list[asyncio.Future[object]], stop: asyncio.Event, *, grace_s: float
) -> None:
    """Wait for `tasks` until `stop`; then give them `grace_s` to finish what is in flight and
    cancel the rest (handed back: their entries stay in the journal, or go back to the
    stream). A task that fails raises here: a bug must not pass silently."""
    stopping: asyncio.Future[object] = asyncio.ensure_future(stop.wait())
    try:
        pending: set[asyncio.Future[object]] = set(tasks)
        while pending:
            done, pending = await asyncio.wait(
                pending | {stopping}, return_when=asyncio.FIRST_COMPLETED
            )
            for task in done - {stopping}:
                task.result()
            pending -= {stopping}
            if stopping in done:
                log.info("stopping: finishing in-flight deliveries", grace_s=grace_s)
                if not pending:
                    return  # everything finished in the same moment
                _, late = await asyncio.wait(pending, timeout=grace_s)
                for task in late:
                    task.cancel()
                await asyncio.gather(*late, return_exceptions=True)
                return
    finally:
        stopping.cancel()
        for task in tasks:
            task.cancel()
