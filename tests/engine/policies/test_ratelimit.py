"""RateLimiter: a shared token bucket that never outruns its budget and learns from the system."""

from __future__ import annotations

import asyncio
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncwell.engine.policies import RateLimiter
from syncwell.testing import FakeClock
from syncwell.workspace.policies import RateLimitPolicy

rates = st.floats(min_value=0.2, max_value=500.0)
bursts = st.one_of(st.none(), st.integers(min_value=1, max_value=40))


def limiter(per_second: float, burst: int | None = None) -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock()
    return RateLimiter(RateLimitPolicy(per_second=per_second, burst=burst), clock), clock


def assert_within_budget(passes: list[tuple[float, int]], rate: float, burst: float) -> None:
    """By each pass, the requests sent so far fit in one burst plus rate * elapsed time."""
    sent = 0
    for at, cost in passes:
        sent += cost
        assert sent <= burst + rate * at + 1e-6 * max(1.0, sent)


@given(per_second=rates, burst=bursts, data=st.data())
async def test_achieved_rate_never_exceeds_the_budget(
    per_second: float, burst: int | None, data: st.DataObject
) -> None:
    """Back-to-back acquires of any costs never exceed burst + rate * t, and use it fully."""
    limit, clock = limiter(per_second, burst)
    costs = data.draw(st.lists(st.integers(1, int(limit.burst)), min_size=1, max_size=80))
    passes = []
    for cost in costs:
        await limit.acquire(cost)
        passes.append((clock.now(), cost))
    assert_within_budget(passes, per_second, limit.burst)
    # Using the budget fully: the last request goes as soon as the bucket allows it.
    expected_end = max(0.0, (sum(costs) - limit.burst) / per_second)
    assert clock.now() == pytest.approx(expected_end, rel=1e-6, abs=1e-9)


@given(per_second=rates, burst=bursts, tasks=st.integers(min_value=2, max_value=12))
async def test_concurrent_flows_share_one_budget(
    per_second: float, burst: int | None, tasks: int
) -> None:
    """Many flows acquiring at once stay, together, within the one budget."""
    limit, clock = limiter(per_second, burst)
    passes: list[tuple[float, int]] = []

    async def flow() -> None:
        for _ in range(5):
            await limit.acquire()
            passes.append((clock.now(), 1))

    await asyncio.gather(*(flow() for _ in range(tasks)))
    assert len(passes) == 5 * tasks
    assert_within_budget(passes, per_second, limit.burst)


async def test_a_greedy_flow_cannot_starve_another() -> None:
    """Waiters are served in arrival order: a flow that asks again queues behind a newcomer."""
    limit, _ = limiter(1.0, burst=1)
    order: list[str] = []

    async def greedy() -> None:
        for _ in range(5):
            await limit.acquire()
            order.append("greedy")

    async def newcomer() -> None:
        await limit.acquire()
        order.append("newcomer")

    first = asyncio.create_task(greedy())
    await asyncio.sleep(0)  # greedy spends the burst and waits (holding the queue) for more
    await asyncio.gather(first, newcomer())
    # The newcomer queued while greedy held the lock for one request; an unfair lock would let
    # greedy take the lock straight back each time and run all five first.
    assert order.index("newcomer") <= 3
    assert order.count("greedy") == 5


def test_default_burst_is_one_second_of_rate() -> None:
    """Without a burst the bucket holds per_second rounded up, and at least one request."""
    assert limiter(2.5)[0].burst == 3
    assert limiter(0.2)[0].burst == 1
    assert limiter(5.0, burst=2)[0].burst == 2


async def test_tokens_never_exceed_burst_after_a_quiet_spell() -> None:
    """After a long idle time only `burst` requests go at once; the next one waits."""
    limit, clock = limiter(10.0, burst=4)
    clock.advance(3_600.0)
    for _ in range(4):
        await limit.acquire()
    assert clock.sleeps == []
    await limit.acquire()
    assert clock.sleeps == [pytest.approx(0.1)]


async def test_unlimited_returns_at_once() -> None:
    """With no policy, acquires never wait and the limiter reports no rate."""
    clock = FakeClock()
    limit = RateLimiter(None, clock)
    for _ in range(1_000):
        await limit.acquire()
    assert clock.now() == 0.0
    assert limit.rate is None
    assert limit.headroom() is None


async def test_cost_below_one_is_refused() -> None:
    """A request costs at least one token; zero or less is a caller's bug."""
    limit, _ = limiter(1.0)
    with pytest.raises(ValueError, match="cost"):
        await limit.acquire(0)


async def test_pause_for_blocks_everyone_until_it_ends() -> None:
    """After a Retry-After of 5 s nobody passes before t=5, even with tokens in the bucket."""
    limit, clock = limiter(100.0, burst=50)
    limit.pause_for(5.0)
    await limit.acquire()
    assert clock.now() == pytest.approx(5.0)


async def test_pause_lets_one_through_at_its_end_then_the_rate() -> None:
    """At the end of a pause one request goes, and the next waits for the rate, not the burst."""
    limit, clock = limiter(1.0, burst=10)
    limit.pause_for(5.0)
    await limit.acquire()
    assert clock.now() == pytest.approx(5.0)
    await limit.acquire()
    assert clock.now() == pytest.approx(6.0)


async def test_a_shorter_pause_does_not_shorten_a_longer_one() -> None:
    """A second, shorter Retry-After leaves the first, longer pause in force."""
    clock = FakeClock()
    limit = RateLimiter(None, clock)
    limit.pause_for(10.0)
    limit.pause_for(2.0)
    await limit.acquire()
    assert clock.now() == pytest.approx(10.0)


async def test_pause_during_a_wait_still_binds_the_waiter() -> None:
    """A Retry-After that arrives while a request waits for tokens holds that request too."""
    limit, clock = limiter(1.0, burst=1)
    await limit.acquire()
    waiter = asyncio.create_task(limit.acquire())
    await asyncio.sleep(0)  # the waiter takes its token ahead and starts its 1 s sleep
    limit.pause_for(30.0)
    await waiter
    assert clock.now() >= 30.0


def test_learn_lowers_the_rate_to_a_lower_limit() -> None:
    """A system reporting a per-second limit below ours lowers the rate and the burst to it."""
    limit, _ = limiter(10.0)
    limit.learn(limit=2, remaining=None, reset_after_s=None)
    assert limit.rate == 2.0
    assert limit.burst == 2


def test_learn_reads_a_limit_per_window() -> None:
    """60 requests per 60 s window is one a second."""
    limit, _ = limiter(10.0)
    limit.learn(limit=60, remaining=None, reset_after_s=None, window_s=60.0)
    assert limit.rate == pytest.approx(1.0)


def test_learn_never_raises_the_rate_above_the_configured_one() -> None:
    """A generous limit from the system leaves our configured rate as it is."""
    limit, _ = limiter(10.0)
    limit.learn(limit=1_000, remaining=1_000, reset_after_s=1.0)
    assert limit.rate == 10.0


async def test_learn_spreads_the_remaining_requests_until_reset() -> None:
    """5 left for the next 10 s: requests go every 2 s, then the configured rate returns."""
    limit, clock = limiter(10.0)
    limit.learn(limit=100, remaining=5, reset_after_s=10.0)
    assert limit.rate == pytest.approx(0.5)
    assert limit.headroom() == pytest.approx(0.05)
    times = []
    for _ in range(5):
        await limit.acquire()
        times.append(clock.now())
    assert times == pytest.approx([2.0, 4.0, 6.0, 8.0, 10.0])
    assert limit.rate == 10.0


async def test_learned_rate_is_kept_when_acquiring() -> None:
    """After learn() lowers the rate, back-to-back acquires follow the new rate."""
    limit, clock = limiter(10.0, burst=1)
    limit.learn(limit=2, remaining=None, reset_after_s=None)
    passes = []
    for _ in range(20):
        await limit.acquire()
        passes.append((clock.now(), 1))
    assert_within_budget(passes, 2.0, 1.0)
    # The rate, plus the send log's margin (25 ms) once per window of the learned limit.
    assert 19 / 2.0 - 1e-9 <= clock.now() <= 19 / 2.0 + 10 * 0.025 + 1e-9


async def test_nothing_left_pauses_until_reset() -> None:
    """A system with 0 remaining and 7 s to reset stops everybody for those 7 s."""
    limit, clock = limiter(10.0)
    limit.learn(limit=100, remaining=0, reset_after_s=7.0)
    assert limit.headroom() == 0.0
    await limit.acquire()
    assert clock.now() == pytest.approx(7.0)


def test_enough_remaining_changes_nothing() -> None:
    """When the system has more left than we would send before reset, the rate stays."""
    limit, _ = limiter(1.0, burst=1)
    limit.learn(limit=1_000, remaining=900, reset_after_s=60.0)
    assert limit.rate == 1.0
    assert limit.headroom() == pytest.approx(0.9)


async def test_unlimited_limiter_still_learns() -> None:
    """An unconfigured system that reports a tight window gets spread out all the same."""
    clock = FakeClock()
    limit = RateLimiter(None, clock)
    limit.learn(limit=100, remaining=2, reset_after_s=4.0)
    await limit.acquire()
    await limit.acquire()
    assert clock.now() == pytest.approx(4.0)
    assert limit.rate is not None
    assert not math.isinf(limit.rate)


async def test_a_wait_across_the_end_of_a_spread_uses_the_faster_rate_after_it() -> None:
    """A request that cannot finish gathering its token in a spread gets the normal rate after."""
    limit, clock = limiter(2.0, burst=2)
    limit.learn(limit=100, remaining=1, reset_after_s=20.0)  # 0.05/s until t=20, bucket empty
    await limit.acquire(2)  # one token gathered by t=20, the second at 2/s
    assert clock.now() == pytest.approx(20.5)


@pytest.mark.parametrize("phase", [0.0, 0.3, 0.77])
async def test_a_fixed_window_api_is_used_to_its_limit_without_a_429(phase: float) -> None:
    """Against a 10-per-whole-second API whose reset is rounded up, the limiter fills each
    window to the limit (at least 95% over 300 requests) and never puts 11 in one."""
    limit, clock = limiter(10.0)
    clock.advance(phase)
    windows: dict[int, int] = {}
    for _ in range(300):
        await limit.acquire()
        window = math.floor(clock.now())
        windows[window] = windows.get(window, 0) + 1
        reset = math.ceil(window + 1 - clock.now())  # whole seconds, rounded up
        limit.learn(limit=10, remaining=10 - windows[window], reset_after_s=reset)
    assert max(windows.values()) <= 10
    inner = range(min(windows) + 1, max(windows))  # the first and last windows are partial
    full = sum(windows.get(w, 0) for w in inner) / (10 * len(inner))
    assert full >= 0.95, windows
