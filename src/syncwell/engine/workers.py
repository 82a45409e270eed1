"""What the workers of a distributed run did, as the reader sees it: from the store's
measurements, which every process adds to, and from the stream, which holds what waits.

In one process the observer judges incidents from the engine's own breakers and counts. In a
distributed run no process has them all, so the reader (`syncwell run`) judges for everyone:
a destination's breaker counts as open when a worker measured open-breaker time in the last
two minutes, the success rate is that of every worker's attempts over five minutes, and the
oldest waiting change is the older of the journal's (not yet relayed) and the stream's.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence

from syncwell.measure import DriftWindow
from syncwell.store import Store
from syncwell.transport import JetStreamTransport
from syncwell.workspace import Flow

__all__ = ["WorkersView"]

_SUCCESS_WINDOW_S = 300.0
_SUCCESS_MIN_ATTEMPTS = 10
_BREAKER_WINDOW_S = 120.0
_RETRIES = ("retries_transient", "retries_rate_limited", "retries_timeout")


class WorkersView:
    """The workers' state per flow, refreshed before each judgement."""

    def __init__(self, transport: JetStreamTransport, flows: Sequence[Flow]) -> None:
        self._transport = transport
        self._flows = flows
        self._recent: dict[str, Mapping[str, object]] = {}
        self._breaker: dict[str, Mapping[str, object]] = {}
        self._oldest: dict[str, float | None] = {}

    async def refresh(self, store: Store, now: float) -> None:
        """Read the measurements of the last minutes, and the stream's oldest changes."""
        recent = await store.measurements.totals(since=now - _SUCCESS_WINDOW_S, until=now + 60)
        breaker = await store.measurements.totals(since=now - _BREAKER_WINDOW_S, until=now + 60)
        self._recent = {str(row["flow"]): row for row in recent}
        self._breaker = {str(row["flow"]): row for row in breaker}
        # One request a flow, all at once: this runs every 10 s with the incidents' judgement.
        oldest = await asyncio.gather(
            *(self._transport.oldest_waiting(f.name) for f in self._flows)
        )
        self._oldest = dict(zip((f.name for f in self._flows), oldest, strict=True))

    def breaker_open(self, flow: str) -> bool:
        """Whether a worker's breaker for the flow's destination was open lately."""
        return _number(self._breaker.get(flow, {}).get("breaker_open_s")) > 0

    def success_rate(self, flow: str) -> float | None:
        """Share of every worker's write attempts that succeeded in the last five minutes."""
        row = self._recent.get(flow, {})
        attempts = _number(row.get("attempts"))
        if attempts < _SUCCESS_MIN_ATTEMPTS:
            return None
        return 1.0 - sum(_number(row.get(column)) for column in _RETRIES) / attempts

    def drift(self, flow: Flow) -> DriftWindow | None:
        """What every worker's read-back of the flow's writes found in the last five
        minutes; None when the flow is not verified."""
        if not flow.verify.on:
            return None
        row = self._recent.get(flow.name, {})
        verified, drifted = int(_number(row.get("verified"))), int(_number(row.get("drifted")))
        return DriftWindow(verified, drifted, flow.verify.drift_incident_above)

    def oldest_waiting(self, flow: str) -> float | None:
        """When the oldest change of the flow waiting in the stream was seen at its source."""
        return self._oldest.get(flow)


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else 0.0
