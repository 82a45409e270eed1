"""Counts of refused credentials, for `/metrics`: wrong ones, and attempts the throttle held off.

Counted per process, as Prometheus expects of a counter (each process is scraped and the
sums are taken there); the throttle's shared state lives in the store (store/throttle.py).
`via` says how the credential came: ``bearer`` (an Authorization header), ``session`` (the
dashboard's cookie) or ``login`` (a token pasted into the login form).
"""

from __future__ import annotations

from typing import Literal

from prometheus_client import Counter

__all__ = ["AUTH_FAILURES", "AUTH_THROTTLED", "Via", "failed", "throttled"]

Via = Literal["bearer", "session", "login"]

AUTH_FAILURES = Counter(
    "syncwell_auth_failures",
    "Credentials refused as unknown, revoked or expired, by how they came.",
    ["via"],
    registry=None,
)
AUTH_THROTTLED = Counter(
    "syncwell_auth_throttled",
    "Attempts answered 429 unchecked: their client failed too often in the window.",
    ["via"],
    registry=None,
)
for _via in ("bearer", "session", "login"):  # every series from the start: rate() needs a 0
    AUTH_FAILURES.labels(_via)
    AUTH_THROTTLED.labels(_via)


def failed(via: Via) -> None:
    """Count a refused credential."""
    AUTH_FAILURES.labels(via).inc()


def throttled(via: Via) -> None:
    """Count an attempt the throttle held off."""
    AUTH_THROTTLED.labels(via).inc()
