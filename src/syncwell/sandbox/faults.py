"""The live fault settings of one tool, and the dice rolled against them."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping

from syncwell.sandbox.config import FaultSettings, Outage, PeriodicOutage

__all__ = ["FaultState", "retry_after"]

_ERROR_STATUSES = (500, 502, 503)


class FaultState:
    """What a tool does wrong right now; changed live by `POST /_sandbox/faults`.

    Args:
        initial: the settings the tool started with (`reset` returns to them).
        rng: the tool's random source, so a seeded run misbehaves the same way.
        now: wall-clock seconds; absolute outage windows are in Unix time.
    """

    def __init__(
        self,
        initial: FaultSettings,
        rng: random.Random,
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._initial = initial
        self._rng = rng
        self._now = now
        self.settings = initial
        self._since = now()

    def update(self, patch: Mapping[str, object]) -> FaultSettings:
        """Change the knobs named in `patch`, keep the others.

        Raises:
            pydantic.ValidationError: when a knob is unknown or its value is out of range.
        """
        merged = self.settings.model_dump() | dict(patch)
        self.settings = FaultSettings.model_validate(merged)
        self._since = self._now()
        return self.settings

    def reset(self) -> FaultSettings:
        """Back to the settings the tool started with."""
        self.settings = self._initial
        self._since = self._now()
        return self.settings

    def latency_s(self) -> float:
        """The latency to add to this request, in seconds."""
        extra = self._rng.uniform(0, self.settings.latency_jitter_ms)
        return (self.settings.latency_ms + extra) / 1000

    def outage_left_s(self) -> float | None:
        """Seconds until the current outage ends, or None when the tool is up."""
        now = self._now()
        left = [
            remaining
            for outage in self.settings.outages
            if (remaining := self._left_in(outage, now)) is not None
        ]
        return max(left) if left else None

    def _left_in(self, outage: Outage, now: float) -> float | None:
        if isinstance(outage, PeriodicOutage):
            phase = (now - self._since) % outage.every_s
            down_from = outage.every_s - outage.for_s
            return outage.every_s - phase if phase >= down_from else None
        return outage.end - now if outage.start <= now < outage.end else None

    def injected_error(self) -> int | None:
        """A 5xx status to answer instead of the tool, or None to let the request through."""
        if self.settings.error_rate and self._rng.random() < self.settings.error_rate:
            return self._rng.choice(_ERROR_STATUSES)
        return None

    def throttled(self) -> bool:
        """Whether to answer this request 429, as an API does when its backend sheds load."""
        return (
            bool(self.settings.throttle_rate) and self._rng.random() < self.settings.throttle_rate
        )

    def messy(self) -> bool:
        """Whether the next record of a list answer comes back malformed."""
        rate = self.settings.malformed_rate
        return bool(rate) and self._rng.random() < rate

    def duplicate(self) -> bool:
        """Whether the webhook event just sent goes out a second time."""
        rate = self.settings.duplicate_webhook_rate
        return bool(rate) and self._rng.random() < rate


def retry_after(seconds: float) -> str:
    """`Retry-After` in whole seconds, rounded up so a client that obeys it is never early."""
    return str(max(1, math.ceil(seconds)))
