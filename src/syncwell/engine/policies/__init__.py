"""The mechanisms that apply the workspace's policies: retry, rate limit, circuit breaker.

How they combine (docs/policies.md): the `Retrier` retries within one delivery, the
`CircuitBreaker` looks across deliveries of an integration, and one `RateLimiter` paces every
request to an external system, whichever flow sends it.
"""

from __future__ import annotations

from syncwell.engine.policies.backoff import Retrier, RetryBudget, RetryStats, backoff_delay
from syncwell.engine.policies.breaker import BreakerState, CircuitBreaker
from syncwell.engine.policies.ratelimit import RateLimiter, spending_for

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "RateLimiter",
    "Retrier",
    "RetryBudget",
    "RetryStats",
    "backoff_delay",
    "spending_for",
]
