"""A clock that tests drive by hand, so code that waits can be tested without waiting.

Time moves only when the code under test sleeps or the test calls `advance`. Every sleep is
recorded, so a test asserts how long the code *would* have waited (``clock.sleeps == [2.0]``)
instead of measuring how long it did.
"""

from __future__ import annotations

import asyncio

__all__ = ["FakeClock"]


class FakeClock:
    """A `syncwell.types.Clock` whose time moves only when slept on or advanced.

    ``sleep`` moves time forward at once, so it fits code that waits one thing at a time. Two
    tasks sleeping concurrently each move the clock by their own wait (the total, not the
    longest): tests of concurrent waiters should assert bounds, not exact times.

    Args:
        start: the first reading of `now`, monotonic seconds.
        wall_start: the first reading of `wall`, Unix seconds (default: November 2023).

    Attributes:
        sleeps: every wait requested through `sleep`, in order, as asked (before clamping).
    """

    def __init__(self, start: float = 0.0, wall_start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._wall_offset = wall_start - start
        self.sleeps: list[float] = []

    def now(self) -> float:
        """Monotonic seconds."""
        return self._now

    def wall(self) -> float:
        """Unix seconds; moves together with `now`."""
        return self._now + self._wall_offset

    async def sleep(self, seconds: float) -> None:
        """Record the wait, move time forward by it and let other tasks run once.

        A negative wait moves no time, as with `asyncio.sleep`; it is still recorded, because a
        negative wait is usually a bug the test wants to see.
        """
        self.sleeps.append(seconds)
        self._now += max(0.0, seconds)
        # Yield once so the code under test behaves like real async code (other tasks get a
        # turn), without ever waiting on the real clock.
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        """Move time forward without a sleep, as if the world went on while nobody waited.

        Raises:
            ValueError: when `seconds` is negative; a monotonic clock never goes back.
        """
        if seconds < 0:
            raise ValueError(f"a monotonic clock cannot go back ({seconds} s)")
        self._now += seconds
