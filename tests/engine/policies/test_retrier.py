"""Retrier and RetryBudget: retry transient failures only, by the policy, within a budget."""

from __future__ import annotations

import random

import pytest

from syncwell.engine.policies import Retrier, RetryBudget, RetryStats
from syncwell.errors import (
    IntegrationFatalError,
    RateLimitedError,
    RecordRejectedError,
    TimedOutError,
    TransientError,
)
from syncwell.testing import FakeClock
from syncwell.workspace.policies import RetryPolicy


class Flaky:
    """An async callable that raises the given errors in turn, then returns "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def make(policy: RetryPolicy, budget: RetryBudget | None = None) -> tuple[Retrier, FakeClock]:
    clock = FakeClock()
    return Retrier(policy, clock, rng=random.Random(42), budget=budget), clock


async def test_success_needs_no_wait() -> None:
    """A call that succeeds first time returns its value without sleeping or retrying."""
    retrier, clock = make(RetryPolicy())
    assert await retrier.call(Flaky()) == "ok"
    assert clock.sleeps == []
    assert retrier.stats == RetryStats(calls=1)


async def test_transient_errors_are_retried_until_success() -> None:
    """Two timeouts then a success: three calls, two waits, each within its backoff ceiling."""
    policy = RetryPolicy(base_s=1.0, cap_s=60.0)
    retrier, clock = make(policy)
    fn = Flaky(TransientError("timeout"), TransientError("timeout"))
    assert await retrier.call(fn) == "ok"
    assert fn.calls == 3
    assert len(clock.sleeps) == 2
    assert 0.0 <= clock.sleeps[0] <= 1.0
    assert 0.0 <= clock.sleeps[1] <= 2.0


async def test_gives_up_after_max_attempts_with_the_last_error() -> None:
    """An endless outage is tried max_attempts times, then its last error is raised as is."""
    policy = RetryPolicy(max_attempts=4)
    retrier, clock = make(policy)
    errors = [TransientError(f"502 #{n}") for n in range(10)]
    fn = Flaky(*errors)
    with pytest.raises(TransientError) as raised:
        await retrier.call(fn)
    assert raised.value is errors[3]
    assert fn.calls == 4
    assert len(clock.sleeps) == 3
    assert retrier.stats.gave_up == 1
    assert retrier.stats.transient == 3


async def test_one_attempt_means_no_retry() -> None:
    """With max_attempts=1 a transient error goes straight up, with no wait."""
    retrier, clock = make(RetryPolicy(max_attempts=1))
    with pytest.raises(TransientError):
        await retrier.call(Flaky(TransientError("timeout")))
    assert clock.sleeps == []


@pytest.mark.parametrize(
    "error",
    [
        RecordRejectedError("bad email", key="42"),
        IntegrationFatalError("token revoked"),
        ValueError("a bug"),
    ],
)
async def test_non_transient_errors_are_not_retried(error: Exception) -> None:
    """A rejected record, a fatal integration error or any other error propagates at once."""
    retrier, clock = make(RetryPolicy())
    fn = Flaky(error)
    with pytest.raises(type(error)) as raised:
        await retrier.call(fn)
    assert raised.value is error
    assert fn.calls == 1
    assert clock.sleeps == []
    assert retrier.stats.retries == 0


async def test_retry_after_is_honoured() -> None:
    """A 429 asking for 7.5 s makes the retrier wait exactly that, longer than any jitter here."""
    retrier, clock = make(RetryPolicy(base_s=0.1, cap_s=1.0))
    assert await retrier.call(Flaky(RateLimitedError("429", retry_after=7.5))) == "ok"
    assert clock.sleeps == [7.5]


async def test_retries_are_counted_across_calls() -> None:
    """5xx count as transient and 429s as rate_limited, across calls, in one stats value."""
    retrier, _ = make(RetryPolicy())
    await retrier.call(Flaky(TransientError("t"), RateLimitedError("r"), RateLimitedError("r")))
    await retrier.call(Flaky(TransientError("t")))
    assert retrier.stats == RetryStats(calls=2, transient=2, rate_limited=2)
    assert retrier.stats.retries == 4


async def test_arguments_reach_the_callable() -> None:
    """Positional and keyword arguments are passed through on every attempt."""
    retrier, _ = make(RetryPolicy())
    seen: list[tuple[int, str]] = []

    async def send(n: int, *, name: str) -> int:
        seen.append((n, name))
        if len(seen) == 1:
            raise TransientError("timeout")
        return n * 2

    assert await retrier.call(send, 21, name="crm") == 42
    assert seen == [(21, "crm"), (21, "crm")]


async def test_an_empty_budget_stops_retries() -> None:
    """When the shared budget has no token left, the error goes up instead of being retried."""
    clock = FakeClock()
    budget = RetryBudget(clock, ratio=0.1, min_per_s=0.0, max_tokens=1.0)
    retrier = Retrier(RetryPolicy(max_attempts=5), clock, rng=random.Random(1), budget=budget)
    fn = Flaky(*[TransientError("down") for _ in range(5)])
    with pytest.raises(TransientError):
        await retrier.call(fn)
    assert fn.calls == 2  # the first attempt and the one retry the budget held
    assert retrier.stats.budget_denied == 1
    assert retrier.stats.transient == 1


def test_budget_keeps_retries_to_a_share_of_calls() -> None:
    """Over 1,000 failing calls with no time passing, retries stay within ratio * calls + saved."""
    clock = FakeClock()
    budget = RetryBudget(clock, ratio=0.1, min_per_s=1.0, max_tokens=10.0)
    retries = 0
    for _ in range(1_000):
        budget.record_call()
        retries += budget.try_spend()
    assert retries <= 0.1 * 1_000 + 10
    assert retries >= 0.1 * 1_000 - 1  # and it does spend what it earns


def test_budget_refills_with_time_up_to_its_maximum() -> None:
    """min_per_s tokens a second come back with time, but never more than max_tokens."""
    clock = FakeClock()
    budget = RetryBudget(clock, ratio=0.0, min_per_s=2.0, max_tokens=5.0)
    while budget.try_spend():
        pass
    assert budget.tokens < 1.0
    clock.advance(1.0)
    assert budget.tokens == pytest.approx(2.0)
    clock.advance(100.0)
    assert budget.tokens == 5.0


def test_budget_refuses_nonsense() -> None:
    """A negative ratio or a maximum below one retry is a configuration bug and raises."""
    with pytest.raises(ValueError):
        RetryBudget(FakeClock(), ratio=-0.1)
    with pytest.raises(ValueError):
        RetryBudget(FakeClock(), max_tokens=0.5)


async def test_retries_are_counted_by_class() -> None:
    """A 5xx, a 429 and two timeouts before a success: one retry of each class but timeouts,
    which count two, and all four in `retries`."""
    retrier, _ = make(RetryPolicy(max_attempts=6))
    fn = Flaky(
        TransientError("503"),
        RateLimitedError("429", retry_after=0.1),
        TimedOutError("no answer in 30 s"),
        TimedOutError("no answer in 30 s"),
    )
    assert await retrier.call(fn) == "ok"
    stats = retrier.stats
    assert (stats.transient, stats.rate_limited, stats.timed_out) == (1, 1, 2)
    assert stats.retries == 4
