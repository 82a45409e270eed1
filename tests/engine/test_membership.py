"""Workers share each system's rate-limit budget: 1/N each while N are alive, the whole of
it again when the others leave; on both state stores."""

from __future__ import annotations

import asyncio

from syncwell.engine.membership import share_budgets
from syncwell.engine.policies import RateLimiter
from syncwell.store import Store
from syncwell.testing import FakeClock
from syncwell.types import SystemClock
from syncwell.workspace import RateLimitPolicy
from tests.waiting import until


def test_a_share_slows_this_process_but_not_what_it_reports() -> None:
    """A limiter with half the budget allows 5 of a 10-a-second limit, and says the system's
    budget is still 10 (the analysis weighs the whole)."""
    limiter = RateLimiter(RateLimitPolicy(per_second=10), FakeClock())
    limiter.share(0.5)
    assert limiter.rate == 5 and limiter.system_rate == 10 and limiter.burst == 5
    limiter.share(1.0)
    assert limiter.rate == 10


async def test_heartbeats_count_the_live_workers(state_store: Store) -> None:
    """Two workers beat: two alive; one silent past the window no longer counts; one that
    leaves is gone at once."""
    workers = state_store.workers
    assert await workers.beat("a", 100.0, live_within_s=20) == 1
    assert await workers.beat("b", 101.0, live_within_s=20) == 2
    assert await workers.beat("b", 130.0, live_within_s=20) == 1  # a silent for 30 s
    await workers.beat("a", 131.0, live_within_s=20)
    await workers.leave("a")
    assert await workers.beat("b", 132.0, live_within_s=20) == 1


async def test_two_workers_take_half_the_budget_each_then_the_whole(state_store: Store) -> None:
    """Two workers sharing one store each limit themselves to half of a system's budget; when
    one stops, the other takes the whole budget at its next beat."""
    limiters = [{"crm": RateLimiter(RateLimitPolicy(per_second=10), SystemClock())} for _ in "ab"]
    stops = [asyncio.Event(), asyncio.Event()]
    tasks = [
        asyncio.create_task(share_budgets(state_store, own, SystemClock(), stop, every_s=0.1))
        for own, stop in zip(limiters, stops, strict=True)
    ]
    try:
        await until(lambda: all(own["crm"].rate == 5 for own in limiters), within_s=5)
        stops[0].set()
        await tasks[0]
        await until(lambda: limiters[1]["crm"].rate == 10, within_s=5)
    finally:
        for stop in stops:
            stop.set()
        await asyncio.gather(*tasks)
