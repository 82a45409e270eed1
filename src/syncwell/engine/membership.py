"""A worker's share of each system's rate-limit budget (DESIGN.md: rate limits are a budget).

A system's limit is the system's, not each worker's: N workers that each sent at the full rate
would send N times it and earn 429s. So every worker says in the store that it is alive, every
few seconds, counts the workers alive, and takes 1/N of the budget of each system it writes
to. When one stops (or dies: then after `LIVE_WITHIN_S`) the others take its share.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping

import structlog

from syncwell.engine.policies import RateLimiter
from syncwell.engine.waiting import wait_any
from syncwell.errors import StoreError
from syncwell.store import Store
from syncwell.types import Clock

__all__ = ["BEAT_S", "LIVE_WITHIN_S", "share_budgets"]

log = structlog.get_logger("syncwell.membership")

BEAT_S = 5.0
"""How often a worker says it is alive."""
LIVE_WITHIN_S = 20.0
"""A worker silent for longer counts as gone."""


async def share_budgets(
    store: Store,
    limiters: Mapping[str, RateLimiter],
    clock: Clock,
    stop: asyncio.Event,
    *,
    every_s: float = BEAT_S,
) -> None:
    """Beat, count the live workers, and share each limiter's budget among them, until
    `stop`; then leave, so that the others take this worker's share at once."""
    me = uuid.uuid4().hex
    try:
        while not stop.is_set():
            try:
                alive = await store.workers.beat(me, clock.wall(), live_within_s=LIVE_WITHIN_S)
            except StoreError as error:
                log.warning("could not beat; keeping the last share", error=str(error))
            else:
                for limiter in limiters.values():
                    limiter.share(1 / max(1, alive))
            await wait_any(stop, timeout=every_s)
    finally:
        with contextlib.suppress(StoreError):
            await store.workers.leave(me)
