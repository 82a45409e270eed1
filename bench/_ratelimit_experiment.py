"""EXPERIMENTS, not the default path: proposed changes to the engine's RateLimiter, tried here.

Why (docs/benchmarks.md, "Rate-limited sync"): after every answer the limiter spreads the
``X-RateLimit-Remaining`` requests over ``X-RateLimit-Reset`` seconds. The CRM rounds the reset
up to whole seconds, so it always says 1 while the window really ends sooner; a client that
paces at exactly the limit has ``remaining`` = 10 x (the true time left) < 10 x 1, and the
spread slows it after every single request (9/s, 8/s, 7/s, ... within each window). And when
``remaining`` reaches 0, which a client at exactly the limit earns in every window, the limiter
pauses for the whole rounded-up second.

Two changes, each a subclass swapped in for the engine's class (`patched()`), in this process:

**window-log** (the proposal), once the limit is known (`L` per `W` s, `W` = 1 unless told):

1. a log of the last `L` send times: the (L+1)-th request waits until `W` + `margin_s` after
   the first of them. No `W`-long stretch then holds more than `L` requests, so a fixed window
   of `W` never sees more than `L` either, wherever its edges fall (a bucket with burst `L`
   lets 2L - 1 through in one window after a quiet spell);
2. the remaining/reset spread (and the pause at ``remaining: 0``) applies only when the system
   counts more requests in its window (`L - remaining`) than this limiter sent in the last
   1.25 `W` (a request reaches the system a little after it left the limiter): someone else
   shares the budget, or the window is longer than `W`. A count that is all ours needs no
   correction; the log keeps it within the limit.

**rounded-reset** (the smallest change): read a whole-second reset as the latest the window
may end, so spread only when `remaining` is short of what would go before the earliest end
(reset - 1 s); at ``remaining: 0`` empty the bucket instead of pausing for the rounded reset.
Nothing bounds the requests in one window by construction: it relies on even pacing at
exactly the limit, which a late request (a busy event loop) can push across a window's edge.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Iterator

import syncwell.engine.runner
from syncwell.engine.policies import RateLimiter
from syncwell.types import Clock
from syncwell.workspace.policies import RateLimitPolicy

__all__ = ["EXPERIMENTS", "MARGIN_S", "RoundedResetLimiter", "WindowLogLimiter", "patched"]

MARGIN_S = 0.01
"""Slack added to the window: a request may reach the system a little later than it left the
limiter (the event loop, the socket), and the next one a little sooner."""

_LOOKBACK = 1.25
"""How far back, in windows, our sends may still be counted in the system's current window."""


class WindowLogLimiter(RateLimiter):
    """The engine's limiter plus a log of recent sends (EXPERIMENT)."""

    margin_s = MARGIN_S

    def __init__(self, policy: RateLimitPolicy | None, clock: Clock) -> None:
        super().__init__(policy, clock)
        self._sent: deque[float] = deque()
        self._window_s = 1.0

    async def acquire(self, cost: int = 1) -> None:
        if cost < 1:
            raise ValueError(f"cost must be at least 1, got {cost}")
        async with self._lock:
            await self._wait_out_pause()
            now = self._clock.now()
            wait = max(self._take(cost, now), self._log_wait(now, cost))
            if wait > 0:
                await self._clock.sleep(wait)
                await self._wait_out_pause()
            self._note(self._clock.now(), cost)

    def learn(
        self,
        limit: int | None,
        remaining: int | None,
        reset_after_s: float | None,
        *,
        window_s: float | None = None,
    ) -> None:
        if window_s is not None and window_s > 0:
            self._window_s = window_s
        known = limit if limit is not None else self._limit
        if known is not None and remaining is not None:
            ours = self._sent_within(self._clock.now(), self._window_s * _LOOKBACK)
            if known - remaining <= ours:
                # All the system counted is ours, and the log keeps that within the limit.
                super().learn(limit, None, None, window_s=window_s)
                self._remaining = max(0, remaining)
                return
        super().learn(limit, remaining, reset_after_s, window_s=window_s)

    def _log_wait(self, now: float, cost: int) -> float:
        if self._limit is None:
            return 0.0
        # The oldest send that, with these `cost`, would make `limit + 1` in one window.
        index = self._limit - cost
        if index < 0 or len(self._sent) <= index:
            return 0.0
        return max(0.0, self._sent[-1 - index] + self._window_s + self.margin_s - now)

    def _note(self, at: float, cost: int) -> None:
        self._sent.extend([at] * cost)
        while len(self._sent) > max(self._limit or 0, 1):
            self._sent.popleft()

    def _sent_within(self, now: float, seconds: float) -> int:
        return sum(1 for at in self._sent if at > now - seconds)


class RoundedResetLimiter(RateLimiter):
    """The engine's limiter, reading a whole-second reset as rounded up (EXPERIMENT)."""

    def _spread(self, now: float, remaining: int, reset_after_s: float) -> None:
        if remaining == 0:
            self._tokens = min(self._tokens, 0.0)
            return
        rounded = reset_after_s >= 1 and float(reset_after_s).is_integer()
        earliest = reset_after_s - 1 if rounded else reset_after_s
        rate = self._rate_at(now)
        if remaining >= self._tokens + (rate * earliest if earliest > 0 else 0.0):
            return
        super()._spread(now, remaining, reset_after_s)


EXPERIMENTS: dict[str, type[RateLimiter]] = {
    "window-log": WindowLogLimiter,
    "rounded-reset": RoundedResetLimiter,
}


@contextlib.contextmanager
def patched(name: str | None, margin_s: float = MARGIN_S) -> Iterator[None]:
    """The engine builds the experiment's limiters instead of `RateLimiter`s while open.

    `name` None changes nothing: syncwell's own limiter runs.
    """
    if name is None:
        yield
        return
    limiter = EXPERIMENTS[name]
    if limiter is WindowLogLimiter:
        limiter = type("WindowLogLimiter", (WindowLogLimiter,), {"margin_s": margin_s})
    # The runner imported the class by name; replacing that name is what the engine sees.
    original = syncwell.engine.runner.RateLimiter  # type: ignore[attr-defined]
    syncwell.engine.runner.RateLimiter = limiter  # type: ignore[attr-defined]
    try:
        yield
    finally:
        syncwell.engine.runner.RateLimiter = original  # type: ignore[attr-defined]
