"""Retry, rate-limit and breaker policies: frozen values set in syncwell.yaml.

The mechanisms that apply them live in `syncwell.engine.policies`; these are only the numbers,
with their defaults written down once (and rendered into docs/policies.md).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from syncwell.workspace.durations import PositiveDuration

__all__ = ["STANDARD_WEBHOOKS_SCHEDULE", "BreakerPolicy", "RateLimitPolicy", "RetryPolicy"]


class RetryPolicy(BaseModel):
    """How a failed delivery is retried: capped exponential backoff with full jitter.

    The n-th retry waits ``random(0, min(cap_s, base_s * 2**n))`` seconds, and never less than
    a retry-after the destination asked for.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_s: float = Field(default=0.5, gt=0, description="First backoff ceiling, seconds. 0.5.")
    cap_s: float = Field(default=60.0, gt=0, description="Largest backoff, seconds. Default 60.")
    max_attempts: int = Field(
        default=6,
        ge=1,
        description="Attempts of one delivery before it is handed back: its changes stay in the "
        "journal and are tried again behind the breaker (transient failures never "
        "dead-letter). Default 6.",
    )

    schedule: tuple[PositiveDuration, ...] = Field(
        default=(),
        description="Waits before each retry instead of exponential backoff, e.g. "
        "[5s, 5m, 30m, 2h]; each is jittered by up to a fifth either way and max_attempts "
        "becomes one more than its length. Default: none (exponential).",
    )
    exhausted: Literal["hand_back", "dead_letter"] = Field(
        default="hand_back",
        description="What happens when a delivery ran out of attempts: `hand_back` (its "
        "changes stay in the journal and are tried again behind the breaker; when the tool "
        "answered with a server error while accepting other records, the batch is halved to "
        "set aside the one it always fails on, docs/guarantees.md) or `dead_letter` (they go "
        "to the dead letters with the last error). Default hand_back; webhook_out systems "
        "default to dead_letter after the Standard Webhooks schedule.",
    )

    @model_validator(mode="after")
    def _cap_not_below_base(self) -> RetryPolicy:
        if self.cap_s < self.base_s:
            raise ValueError(f"cap_s ({self.cap_s}) must be at least base_s ({self.base_s})")
        if self.schedule and self.max_attempts != len(self.schedule) + 1:
            # The schedule decides the attempts; a frozen model is rebuilt with the count.
            object.__setattr__(self, "max_attempts", len(self.schedule) + 1)
        return self


STANDARD_WEBHOOKS_SCHEDULE = tuple(
    timedelta(seconds=seconds) for seconds in (5, 300, 1800, 7200, 18000, 36000, 36000)
)
"""The retry schedule Standard Webhooks recommends: 5s, 5m, 30m, 2h, 5h, 10h, 10h (about a day)."""


class RateLimitPolicy(BaseModel):
    """A system's request budget, shared by all its flows (a token bucket)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    per_second: float = Field(gt=0, description="Sustained requests per second.")
    burst: int | None = Field(
        default=None,
        ge=1,
        description="Requests that may go at once after a quiet spell. "
        "Default: per_second rounded up (at least 1).",
    )


class BreakerPolicy(BaseModel):
    """When an integration's circuit breaker opens and how it probes for recovery."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    failure_threshold: int = Field(
        default=5, ge=1, description="Failed deliveries in a row that open the breaker. 5."
    )
    open_s: float = Field(
        default=30.0,
        gt=0,
        description="Seconds the breaker stays open before one probe is let through "
        "(half-open). Default 30.",
    )
    max_open_s: float = Field(
        default=300.0,
        gt=0,
        description="A failed probe doubles the open time up to this many seconds. Default 300.",
    )
