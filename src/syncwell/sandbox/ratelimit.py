"""A fixed one-second window rate limit, the simplest kind real APIs use.

Windows are whole seconds of the monotonic clock: the count resets at each second boundary, so
a burst of `limit` requests at the end of one window and `limit` more at the start of the next
both pass. Clients must cope with that (real fixed-window APIs behave the same).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["FixedWindow", "Verdict"]


@dataclass(frozen=True)
class Verdict:
    """The limiter's answer to one request."""

    allowed: bool
    limit: int
    remaining: int
    reset_s: float
    """Seconds until the current window ends."""

    def headers(self) -> dict[str, str]:
        """The `X-RateLimit-*` headers describing the window after this request."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(max(1, math.ceil(self.reset_s))),
        }


class FixedWindow:
    """Counts requests per whole second; the limit may change between calls."""

    def __init__(self, *, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._window = -1
        self._used = 0

    def take(self, limit: int) -> Verdict:
        """Count one request against `limit` and say whether it may pass."""
        now = self._now()
        window = math.floor(now)
        if window != self._window:
            self._window, self._used = window, 0
        self._used += 1
        allowed = self._used <= limit
        return Verdict(
            allowed=allowed,
            limit=limit,
            remaining=max(0, limit - self._used),
            reset_s=window + 1 - now,
        )
