"""An integration's circuit breaker: stop calling a system that is down, probe for recovery.

Retries handle a failure inside one delivery; the breaker looks across deliveries. After
`failure_threshold` failed deliveries in a row it opens and the engine stops calling the
system. When the open time has passed it lets exactly one probe through (half-open): a success
closes it, a failure opens it again for twice as long, up to `max_open_s`.

    CLOSED --threshold failures in a row--> OPEN --open time passed, allow()--> HALF_OPEN
      ^                                       ^                                   |
      |                                       +---------- probe failed -----------+
      +------------------------------- probe succeeded ---------------------------+
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from syncwell.types import Clock
from syncwell.workspace.policies import BreakerPolicy

__all__ = ["BreakerState", "CircuitBreaker"]


class BreakerState(StrEnum):
    """Where a circuit breaker stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """The breaker of one integration (its state is the integration's health).

    Args:
        policy: the threshold and open times.
        clock: where time comes from.
        name: the integration, for logs and incidents.
        on_change: called with (old, new) after every transition; incidents open and close
            from it.
    """

    def __init__(
        self,
        policy: BreakerPolicy,
        clock: Clock,
        name: str = "",
        *,
        on_change: Callable[[BreakerState, BreakerState], None] | None = None,
    ) -> None:
        self.name = name
        self._policy = policy
        self._clock = clock
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._open_s = policy.open_s
        self._opened_at = 0.0  # when the current OPEN spell began (reset at each reopen)
        self._spell_start: float | None = None  # when the breaker last left CLOSED
        self._closed_spells_s = 0.0
        self._probing = False
        self._failed_probes = 0

    @property
    def state(self) -> BreakerState:
        """The current state. An OPEN breaker turns HALF_OPEN only when `allow` is asked."""
        return self._state

    @property
    def failure_threshold(self) -> int:
        """Failures in a row that open it: what "down" means for its system."""
        return self._policy.failure_threshold

    @property
    def consecutive_failures(self) -> int:
        """Failures recorded in a row while closed."""
        return self._failures

    @property
    def open_s(self) -> float:
        """How long the current (or next) open spell lasts, in seconds."""
        return self._open_s

    @property
    def open_since(self) -> float | None:
        """When the breaker last left CLOSED (clock seconds): the start of the current spell of
        open and probing, which only a success ends; None while closed."""
        return self._spell_start

    @property
    def failed_probes(self) -> int:
        """Probes that failed in the current spell (0 while closed)."""
        return self._failed_probes

    def allow(self) -> bool:
        """May a delivery go now? In HALF_OPEN exactly one probe gets True until it reports."""
        if self._state is BreakerState.CLOSED:
            return True
        if self._state is BreakerState.OPEN:
            if self._clock.now() < self._opened_at + self._open_s:
                return False
            self._transition(BreakerState.HALF_OPEN)
            self._probing = True
            return True
        if self._probing:
            return False
        self._probing = True
        return True

    def record_success(self) -> None:
        """A delivery succeeded: the system works, so close and forget the failures.

        A late success from a delivery that started before the breaker opened closes it too:
        the system answered, which is all a probe would learn.
        """
        self._failures = 0
        self._open_s = self._policy.open_s
        self._probing = False
        self._failed_probes = 0
        if self._state is not BreakerState.CLOSED:
            if self._spell_start is not None:
                self._closed_spells_s += self._clock.now() - self._spell_start
            self._spell_start = None
            self._transition(BreakerState.CLOSED)

    def record_failure(self) -> None:
        """A delivery failed (after its retries). Opens the breaker at the threshold.

        A failure while OPEN (a delivery that started before it opened) changes nothing.
        """
        if self._state is BreakerState.CLOSED:
            self._failures += 1
            if self._failures >= self._policy.failure_threshold:
                self._spell_start = self._clock.now()
                self._open()
        elif self._state is BreakerState.HALF_OPEN:
            self._failed_probes += 1
            ceiling = max(self._policy.max_open_s, self._policy.open_s)
            self._open_s = min(self._open_s * 2, ceiling)
            self._open()

    def record_cancelled(self) -> None:
        """A delivery that `allow` let through never ran (cancelled, shut down).

        In HALF_OPEN the probe slot is freed, so the next `allow` may probe; otherwise nothing.
        """
        if self._state is BreakerState.HALF_OPEN:
            self._probing = False

    def wait_s(self) -> float:
        """Seconds until the next probe may go; 0 when `allow` would say True now.

        While a probe is out the answer depends on it; this returns the open time a failed
        probe would bring, an upper bound that is a sensible time to look again.
        """
        if self._state is BreakerState.CLOSED:
            return 0.0
        if self._state is BreakerState.OPEN:
            return max(0.0, self._opened_at + self._open_s - self._clock.now())
        if not self._probing:
            return 0.0
        return min(self._open_s * 2, max(self._policy.max_open_s, self._policy.open_s))

    def opened_total_s(self) -> float:
        """Seconds spent not closed (open or probing), the current spell included."""
        current = 0.0 if self._spell_start is None else self._clock.now() - self._spell_start
        return self._closed_spells_s + current

    def _open(self) -> None:
        self._opened_at = self._clock.now()
        self._probing = False
        self._transition(BreakerState.OPEN)

    def _transition(self, new: BreakerState) -> None:
        old, self._state = self._state, new
        if self._on_change is not None and old is not new:
            self._on_change(old, new)
