"""What one tool saw: requests by status, throttling, injected faults, webhooks.

Tests read these through `GET /_sandbox/stats` to check a client's manners, above all that no
request arrived while the tool had told the client to wait (`early_requests`).
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

__all__ = ["Arrival", "RequestRecord", "ToolStats"]

# A request that reaches us within this long after a 429 was sent left the client before the
# client could have read the 429 (it was in flight on another connection), so it is not early.
_IN_FLIGHT_GRACE_S = 0.02
_RECENT = 5000


@dataclass(frozen=True)
class Arrival:
    """When a request arrived (wall and monotonic clock) and whether it came too early."""

    at: float
    mono: float
    early: bool


@dataclass(frozen=True)
class RequestRecord:
    """One answered request, as `GET /_sandbox/requests` lists it."""

    at: float
    method: str
    path: str
    status: int
    early: bool
    duration_ms: float


class ToolStats:
    """Counters of one tool. Only API requests count; `/_sandbox/*` calls never do."""

    def __init__(
        self,
        *,
        wall: Callable[[], float] = time.time,
        mono: Callable[[], float] = time.monotonic,
    ) -> None:
        self._wall = wall
        self._mono = mono
        self.statuses: Counter[int] = Counter()
        self.rate_limited = 0
        self.early_requests = 0
        self.errors_injected = 0
        self.outage_rejections = 0
        self.malformed_records = 0
        self.webhooks_sent = 0
        self.webhooks_failed = 0
        self.webhooks_given_up = 0
        self.webhooks_duplicated = 0
        self.recent: deque[RequestRecord] = deque(maxlen=_RECENT)
        self._told_at = -1.0
        self._wait_until = -1.0

    def arrive(self) -> Arrival:
        """Note a request's arrival; it is early when a `Retry-After` told the client to wait."""
        mono = self._mono()
        early = self._told_at + _IN_FLIGHT_GRACE_S < mono < self._wait_until
        if early:
            self.early_requests += 1
        return Arrival(at=self._wall(), mono=mono, early=early)

    def told_to_wait(self, seconds: float) -> None:
        """A response just told the client not to come back for `seconds`."""
        now = self._mono()
        self._told_at = now
        self._wait_until = max(self._wait_until, now + seconds)

    def answered(self, arrival: Arrival, method: str, path: str, status: int) -> None:
        """Count the status a request got."""
        self.statuses[status] += 1
        if status == 429:
            self.rate_limited += 1
        duration_ms = (self._mono() - arrival.mono) * 1000
        self.recent.append(
            RequestRecord(arrival.at, method, path, status, arrival.early, round(duration_ms, 3))
        )

    def recent_requests(self, limit: int) -> list[dict[str, object]]:
        """The last `limit` answered requests, oldest first."""
        records = list(self.recent)[-limit:] if limit > 0 else []
        return [asdict(record) for record in records]

    def snapshot(self, records: Mapping[str, int], webhooks_pending: int) -> dict[str, object]:
        """All counters as JSON-ready values."""
        return {
            "requests_total": sum(self.statuses.values()),
            "requests_by_status": {str(code): n for code, n in sorted(self.statuses.items())},
            "rate_limited": self.rate_limited,
            "early_requests": self.early_requests,
            "errors_injected": self.errors_injected,
            "outage_rejections": self.outage_rejections,
            "malformed_records": self.malformed_records,
            "webhooks": {
                "sent": self.webhooks_sent,
                "failed": self.webhooks_failed,
                "given_up": self.webhooks_given_up,
                "duplicated": self.webhooks_duplicated,
                "pending": webhooks_pending,
            },
            "records": dict(records),
        }
