"""One token bucket per external system, shared by all its flows (DESIGN.md, semantics 5).

The limiter aims to spend the system's budget fully without ever earning a 429. It starts from
the workspace's `RateLimitPolicy` and then listens to the system: a `Retry-After` pauses
everybody (`pause_for`), and the rate-limit headers (`learn`) lower the rate when the system's
limit is lower than ours, or spread the requests left in the system's window evenly until the
window resets, when fewer are left than we would otherwise send.

Once the system's limit is known (L requests per window W), the limiter also keeps the times of
its last L requests and lets the next go only W (and a margin) after the oldest of them: then no
stretch of W, and so no window of the system's, however aligned, holds more than L. That is what
lets it run at the full budget of a fixed-window API (most of them) without a 429; the spread
alone, reading a reset rounded up to whole seconds as exact, settled at half the budget
(docs/benchmarks.md, "Rate-limited sync"). The spread still applies when the system counts
more requests than this limiter sent: another client spends the same budget.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter, deque
from contextvars import ContextVar

from syncwell.types import Clock
from syncwell.workspace.policies import RateLimitPolicy

__all__ = ["RateLimiter", "spending_for"]

_SPENDER: ContextVar[str] = ContextVar("syncwell_spender", default="")
"""The flow on whose behalf the current task sends requests; `spending_for` sets it."""


def spending_for(flow: str) -> None:
    """Count the requests the current task (and tasks it starts) sends against `flow`.

    A limiter is per system and shared by its flows; the task is what knows which flow it
    works for, so the attribution travels with it rather than through every connector call.
    """
    _SPENDER.set(flow)


_MARGIN_S = 0.025
"""Slack on the send log: how much later one request may reach the system than another."""
_OURS_WITHIN = 1.25
"""Requests sent within this many windows count as the ones the system's `remaining` saw."""


class RateLimiter:
    """An async token bucket that learns from the system it guards.

    Acquirers queue on a lock in arrival order, so a flow that keeps asking cannot starve the
    others. A request may take its tokens ahead and then wait them out; that keeps the loop
    free of float round-off (it never re-checks a balance that is short by 1e-12).

    Args:
        policy: the configured budget; None means unlimited until the system says otherwise.
        clock: where time comes from.
    """

    def __init__(self, policy: RateLimitPolicy | None, clock: Clock) -> None:
        self._clock = clock
        if policy is None:
            self._configured_rate = math.inf
            self._configured_burst = math.inf
        else:
            self._configured_rate = policy.per_second
            self._configured_burst = float(policy.burst or max(1, math.ceil(policy.per_second)))
        self._base_rate = self._configured_rate
        # Unlimited needs a bucket only while spreading; one token keeps that even.
        self._burst = 1.0 if math.isinf(self._configured_burst) else self._configured_burst
        self._tokens = self._burst
        self._updated = clock.now()
        self._paused_until = -math.inf
        self._spread_rate = math.inf
        self._spread_until = -math.inf
        self._limit: int | None = None
        self._remaining: int | None = None
        self._window_s = 1.0
        self._sent: deque[float] = deque()
        self._share = 1.0
        self._lock = asyncio.Lock()
        self.spent: Counter[str] = Counter()
        """Requests sent so far, by the flow they were sent for (see `spending_for`)."""

    @property
    def rate(self) -> float | None:
        """Requests per second allowed now, or None when unlimited."""
        rate = self._rate_at(self._clock.now())
        return None if math.isinf(rate) else rate

    @property
    def system_rate(self) -> float | None:
        """The system's whole budget in requests per second (every worker's shares), or None
        when unlimited: what the measurements record and the analysis weighs."""
        rate = self.rate
        return None if rate is None else rate / self._share

    @property
    def burst(self) -> float:
        """The most tokens the bucket holds (requests that may go at once after a quiet spell)."""
        return max(1.0, self._burst * self._share)

    def share(self, fraction: float) -> None:
        """Take only `fraction` of the system's budget: one of several workers that send to
        the system at once. What the system reports as left (a spread) is already everyone's
        and is not divided again."""
        self._refill(self._clock.now())
        self._share = min(1.0, max(fraction, 1e-3))
        self._tokens = min(self._tokens, self.burst)

    def headroom(self) -> float | None:
        """The share of the system's limit left, as it last reported (remaining / limit)."""
        if self._limit is None or self._remaining is None or self._limit <= 0:
            return None
        return min(1.0, self._remaining / self._limit)

    async def acquire(self, cost: int = 1) -> None:
        """Wait until `cost` requests may go, then take them from the budget.

        Raises:
            ValueError: when `cost` is less than 1.
        """
        if cost < 1:
            raise ValueError(f"cost must be at least 1, got {cost}")
        async with self._lock:
            await self._wait_out_pause()
            now = self._clock.now()
            wait = max(self._take(cost, now), self._log_wait(now, cost))
            if wait > 0:
                await self._clock.sleep(wait)
                # A Retry-After may have come in while we waited for tokens; it still binds us.
                await self._wait_out_pause()
            self._note_sent(self._clock.now(), cost)
        self.spent[_SPENDER.get()] += cost

    def pause_for(self, seconds: float) -> None:
        """Let nobody pass for `seconds` (the system sent a Retry-After).

        At most one request goes at the pause's end, then the rate applies again: the bucket
        does not fill while paused. A pause never shortens one already running.
        """
        now = self._clock.now()
        until = now + max(0.0, seconds)
        if until <= self._paused_until:
            return
        self._refill(now)
        self._paused_until = until
        self._tokens = min(self._tokens, 1.0)
        self._updated = max(self._updated, until)

    def learn(
        self,
        limit: int | None,
        remaining: int | None,
        reset_after_s: float | None,
        *,
        window_s: float | None = None,
    ) -> None:
        """Adapt to what the system's rate-limit headers said.

        Args:
            limit: requests the system allows per window.
            remaining: requests left in the current window.
            reset_after_s: seconds until the window resets.
            window_s: the window's length, when the headers say (``RateLimit-Policy: 100;w=60``).
                Without it a limit is read as per second: a limit below our per-second rate is
                then a sure sign we are too fast, and the remaining/reset spread does the rest.
        """
        now = self._clock.now()
        self._refill(now)
        if window_s is not None and window_s > 0:
            self._window_s = window_s
        known = limit if limit is not None and limit > 0 else self._limit
        ours = self._sent_within(now, self._window_s * _OURS_WITHIN)
        if known is not None and remaining is not None and known - remaining <= ours:
            # All the system counted is ours, and the send log keeps that within its limit:
            # spreading on top would only slow us (a reset rounded up reads as too soon).
            self.learn(limit, None, None, window_s=window_s)
            self._remaining = max(0, remaining)
            return
        if limit is not None and limit > 0:
            self._limit = limit
            learned = limit / window_s if window_s is not None and window_s > 0 else float(limit)
            self._base_rate = min(self._configured_rate, learned)
            self._burst = max(1.0, min(self._configured_burst, float(limit)))
            self._tokens = min(self._tokens, self.burst)
        if remaining is None:
            return
        self._remaining = max(0, remaining)
        if reset_after_s is not None and reset_after_s > 0:
            self._spread(now, self._remaining, reset_after_s)
        else:
            self._tokens = min(self._tokens, float(self._remaining))

    def _spread(self, now: float, remaining: int, reset_after_s: float) -> None:
        planned = self._tokens + _gain(self._rate_at(now), reset_after_s)
        if remaining >= planned:
            return
        if remaining == 0:
            self.pause_for(reset_after_s)
            return
        # Start from an empty bucket: the system's count is the truth, and then at most
        # `remaining` tokens accrue before the reset, evenly spaced.
        self._spread_rate = remaining / reset_after_s
        self._spread_until = now + reset_after_s
        self._tokens = min(self._tokens, 0.0)

    def _log_wait(self, now: float, cost: int) -> float:
        """Seconds until `cost` more requests make no more than the limit in any window."""
        if self._limit is None:
            return 0.0
        index = self._limit - cost  # the send that would be the limit-plus-first in a window
        if index < 0 or len(self._sent) <= index:
            return 0.0
        return max(0.0, self._sent[-1 - index] + self._window_s + _MARGIN_S - now)

    def _note_sent(self, at: float, cost: int) -> None:
        self._sent.extend([at] * cost)
        while len(self._sent) > max(self._limit or 0, 1):
            self._sent.popleft()

    def _sent_within(self, now: float, seconds: float) -> int:
        return sum(1 for at in self._sent if at > now - seconds)

    async def _wait_out_pause(self) -> None:
        # A loop, because another pause may arrive while we sleep out this one.
        while (left := self._paused_until - self._clock.now()) > 0:
            await self._clock.sleep(left)

    def _take(self, cost: int, now: float) -> float:
        """Take `cost` tokens (perhaps into debt); return the seconds to wait before going."""
        self._refill(now)
        rate = self._rate_at(now)
        if math.isinf(rate):
            return 0.0
        self._tokens -= cost
        # A cost above the burst could never be met; it goes once a full bucket's worth is in.
        floor = min(float(cost), self.burst) - cost
        return self._time_to_gain(now, floor - self._tokens)

    def _time_to_gain(self, now: float, tokens: float) -> float:
        """Seconds until the bucket has gained `tokens`, across the end of a spread."""
        if tokens <= 0:
            return 0.0
        spread_left = max(0.0, self._spread_until - now)
        slow = min(self._own_rate, self._spread_rate)
        in_spread = _gain(slow, spread_left)
        if in_spread >= tokens:
            return tokens / slow
        return spread_left + (tokens - in_spread) / self._own_rate

    @property
    def _own_rate(self) -> float:
        """This process's part of the budget it knows (configured, or learned from a limit)."""
        return self._base_rate * self._share

    def _rate_at(self, now: float) -> float:
        if now < self._spread_until:
            return min(self._own_rate, self._spread_rate)
        return self._own_rate

    def _refill(self, now: float) -> None:
        if now <= self._updated:
            return
        in_spread = max(0.0, min(now, self._spread_until) - self._updated)
        after = (now - self._updated) - in_spread
        gained = _gain(min(self._own_rate, self._spread_rate), in_spread)
        gained += _gain(self._own_rate, after)
        self._tokens = min(self.burst, self._tokens + gained)
        self._updated = now


def _gain(rate: float, seconds: float) -> float:
    # Guards inf * 0 (an unlimited rate over no time), which would be NaN.
    return rate * seconds if seconds > 0 else 0.0
