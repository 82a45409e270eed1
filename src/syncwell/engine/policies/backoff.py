"""Retry one delivery: capped exponential backoff with full jitter, under a retry budget.

Only transient failures are retried (DESIGN.md, delivery semantics 4); a rejected record or a
fatal integration error goes up at once, because retrying it cannot help. Retries happen in this
one layer only: stacked retry layers multiply into an outage of their own.

Written by hand rather than with tenacity or stamina: both sleep on their own clock (stamina
has only a global testing switch; tenacity's timing reads `time.monotonic`), neither knows our
error tree's `retry_after`, and the whole mechanism is shorter than the adapter would be.
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import ParamSpec, TypeVar

from syncwell.errors import RateLimitedError, TimedOutError, TransientError
from syncwell.types import Clock
from syncwell.workspace.policies import RetryPolicy

__all__ = ["Retrier", "RetryBudget", "RetryStats", "backoff_delay"]

P = ParamSpec("P")
T = TypeVar("T")


def backoff_delay(
    policy: RetryPolicy, attempt: int, *, rng: random.Random, retry_after: float | None = None
) -> float:
    """Seconds to wait before retry number `attempt` (0 is the first retry).

    Full jitter: a uniform draw from ``[0, min(cap_s, base_s * 2**attempt)]``, so clients that
    failed together do not come back together. A policy with a `schedule` waits its n-th
    entry instead, give or take a fifth. A `retry_after` from the other side wins over a
    shorter draw: it knows when it will take requests again.

    Args:
        policy: the retry policy.
        attempt: 0 for the first retry, 1 for the second, ...
        rng: where randomness comes from; tests seed it.
        retry_after: seconds the other side asked us to wait, if it said.

    Returns:
        A delay in seconds, never negative.
    """
    if attempt < 0:
        raise ValueError(f"attempt must be 0 or more, got {attempt}")
    if policy.schedule:
        # A fixed schedule (webhooks over a day): each wait jittered by a fifth either way,
        # so receivers that went down together are not all retried at one instant.
        planned = policy.schedule[min(attempt, len(policy.schedule) - 1)].total_seconds()
        delay = planned * rng.uniform(0.8, 1.2)
    else:
        delay = rng.uniform(0.0, _ceiling(policy, attempt))
    # A comparison, not max(): a NaN retry_after (a garbled header) is then ignored.
    if retry_after is not None and retry_after > delay:
        delay = retry_after
    return max(0.0, delay)


def _ceiling(policy: RetryPolicy, attempt: int) -> float:
    # ldexp is base * 2**attempt without building a huge int; past float range it is the cap.
    try:
        return min(policy.cap_s, math.ldexp(policy.base_s, attempt))
    except OverflowError:
        return policy.cap_s


class RetryBudget:
    """Keeps retries to a share of calls, so retries cannot multiply an outage's load.

    A token bucket: every call deposits `ratio` tokens, time adds `min_per_s` tokens a second
    (so a quiet integration can still retry), and each retry spends one token. Over a long spell
    that allows about ``ratio * calls + min_per_s * seconds`` retries. When the bucket is empty
    the retry is refused and the failure goes to the breaker instead. Share one budget across
    all retriers of an integration.

    Args:
        clock: where time comes from.
        ratio: tokens each call deposits (0.1: retries up to about 10% of calls).
        min_per_s: tokens added per second regardless of traffic.
        max_tokens: the most tokens saved up; also the starting balance.
    """

    def __init__(
        self, clock: Clock, *, ratio: float = 0.1, min_per_s: float = 1.0, max_tokens: float = 10.0
    ) -> None:
        if ratio < 0 or min_per_s < 0 or max_tokens < 1:
            raise ValueError("ratio and min_per_s must be >= 0 and max_tokens >= 1")
        self._clock = clock
        self._ratio = ratio
        self._min_per_s = min_per_s
        self._max = max_tokens
        self._tokens = max_tokens
        self._updated = clock.now()

    @property
    def tokens(self) -> float:
        """Retries that may happen now (fractional)."""
        self._refill()
        return self._tokens

    def record_call(self) -> None:
        """Count one call (not a retry): it earns `ratio` of a retry."""
        self._refill()
        self._tokens = min(self._max, self._tokens + self._ratio)

    def try_spend(self) -> bool:
        """Take one retry from the budget; False when there is none left."""
        self._refill()
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

    def _refill(self) -> None:
        now = self._clock.now()
        elapsed = max(0.0, now - self._updated)
        self._updated = now
        self._tokens = min(self._max, self._tokens + elapsed * self._min_per_s)


@dataclass(frozen=True, slots=True)
class RetryStats:
    """What a `Retrier` has done since it was made; the measurement layer reads it.

    Attributes:
        calls: calls started (first attempts).
        transient: retries after a `TransientError` that was neither a rate limit nor a timeout.
        rate_limited: retries after a `RateLimitedError`.
        timed_out: retries after a `TimedOutError`.
        gave_up: calls that ran out of attempts and raised their last error.
        budget_denied: retries the `RetryBudget` refused (the error was raised instead).
    """

    calls: int = 0
    transient: int = 0
    rate_limited: int = 0
    timed_out: int = 0
    gave_up: int = 0
    budget_denied: int = 0

    @property
    def retries(self) -> int:
        """All retries, of every class."""
        return self.transient + self.rate_limited + self.timed_out


class Retrier:
    """Runs an async callable, retrying transient failures by a `RetryPolicy`.

    Args:
        policy: backoff numbers and the attempt limit.
        clock: what waits between attempts.
        rng: the jitter's randomness; a fresh unseeded one by default.
        budget: an optional shared `RetryBudget`; without one every transient error is retried
            up to the policy's limit.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        clock: Clock,
        *,
        rng: random.Random | None = None,
        budget: RetryBudget | None = None,
    ) -> None:
        self._policy = policy
        self._clock = clock
        # Jitter is not security: a plain PRNG is right, and seeding it makes tests exact.
        self._rng = rng or random.Random()  # noqa: S311
        self._budget = budget
        self._stats = RetryStats()

    @property
    def stats(self) -> RetryStats:
        """A snapshot of the counts so far."""
        return self._stats

    async def call(self, fn: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Await ``fn(*args, **kwargs)``, retrying it on `TransientError`.

        Raises:
            TransientError: the last one, after `max_attempts` attempts or when the budget
                refuses a retry.
            Exception: any other error from `fn`, at once and unretried.
        """
        self._stats = replace(self._stats, calls=self._stats.calls + 1)
        if self._budget is not None:
            self._budget.record_call()
        retry = 0
        while True:
            try:
                return await fn(*args, **kwargs)
            except TransientError as error:
                delay = self._delay_or_raise(error, retry)
            await self._clock.sleep(delay)
            retry += 1

    def _delay_or_raise(self, error: TransientError, retry: int) -> float:
        # Raises the caught error itself, so the caller sees the connector's error and traceback.
        s = self._stats
        if retry + 1 >= self._policy.max_attempts:
            self._stats = replace(s, gave_up=s.gave_up + 1)
            raise error
        if self._budget is not None and not self._budget.try_spend():
            self._stats = replace(s, budget_denied=s.budget_denied + 1)
            raise error
        if isinstance(error, RateLimitedError):
            self._stats = replace(s, rate_limited=s.rate_limited + 1)
        elif isinstance(error, TimedOutError):
            self._stats = replace(s, timed_out=s.timed_out + 1)
        else:
            self._stats = replace(s, transient=s.transient + 1)
        return backoff_delay(self._policy, retry, rng=self._rng, retry_after=error.retry_after)
