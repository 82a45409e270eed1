"""Incidents: when a flow turns unhealthy and when it recovers, decided from the engine's state.

Evaluated at every measurement flush (10 s). A flow has an incident open while:

* **breaker_open**: its destination's circuit breaker is open;
* **freshness**: its oldest undelivered change has been older than the freshness SLO for
  5 minutes in a row;
* **stalled**: no read of its source has succeeded for 3 of its intervals; for a `mode: cdc`
  flow, which reads without pause, for `STREAM_STALLED_S`;
* **success_rate**: over the last 5 minutes, fewer of its write attempts succeeded than its
  SLO's `success_rate` (judged once at least 10 attempts were made);
* **deletes_held**: its last pass over the source's keys found so many gone, or could not
  finish its listing, that no delete was applied (engine/ledger.py).
* **drift**: of its written records read back in the last 5 minutes, more than its
  `verify.drift_incident_above` share came back different (engine/verify.py). With none read
  back since, an open one stays open: nothing has shown the drift gone.
* **unreachable**: its source or destination could not be reached when the run opened it,
  and has not been since (engine/startup.py).
* **slot_wal**: a `mode: cdc` flow's replication slot keeps more WAL than its
  `cdc.max_retained` (measure/slots.py): the source's disk fills while it does. While the
  database cannot be measured, an open one stays open.
* **refused**: the source of a `mode: cdc` flow refuses to go on (a column the flow needs
  dropped, a TRUNCATE, its replication slot lost: docs/cdc.md). Closes when a read succeeds.

Each closes when its condition clears; the time to resolve is the time between.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from syncwell.measure.slots import SlotHealth, wal_size

__all__ = ["DriftWindow", "FlowHealth", "IncidentChange", "IncidentWatch"]

BREACH_FOR_S = 300.0
"""How long the freshness SLO must stay breached before an incident opens (5 minutes)."""
STALLED_INTERVALS = 3
"""Intervals without a successful read that make a flow stalled."""
STREAM_STALLED_S = 60.0
"""Seconds without a successful read that make a `mode: cdc` flow stalled. Its reads end
every half second while the stream is healthy, so a minute of none is an outage (a server
down, a network cut), not a quiet table."""


@dataclass(frozen=True, slots=True)
class DriftWindow:
    """What reading back a flow's written records found in the last 5 minutes.

    Attributes:
        verified: records read back and compared.
        drifted: of those, records with a field that came back different, or gone.
        above: the share of drifted records above which the flow's incident opens.
        fields: the fields that drifted, most often first (where known).
    """

    verified: int
    drifted: int
    above: float
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FlowHealth:
    """What the watch needs to know of one flow at one moment."""

    flow: str
    integration: str
    breaker_open: bool
    oldest_pending_age_s: float | None
    freshness_slo_s: float
    last_read_at: float | None
    interval_s: float | None
    started_at: float
    success_rate: float | None = None
    """Share of write attempts that succeeded lately; None with too few to judge."""
    success_slo: float = 0.99
    deletes_held: str | None = None
    """Why the flow's last pass over its source's keys applied no deletes; None if it did."""
    drift: DriftWindow | None = None
    """What reading its writes back found lately; None when they are not verified."""
    unreachable: str | None = None
    """Which system of the flow the run could not reach, and where; None when all answer."""
    slot: SlotHealth | None = None
    """A `mode: cdc` flow's replication slot as last measured; None for other flows."""
    refused: str | None = None
    """Why a `mode: cdc` flow's source refuses to go on (its last read's error); None if not."""
    streams: bool = False
    """Whether the flow reads its source's changes without pause (`mode: cdc`)."""


@dataclass(frozen=True, slots=True)
class IncidentChange:
    """An incident to open (with its evidence) or to close."""

    opening: bool
    flow: str
    integration: str
    cause: str
    detail: str = ""


@dataclass(slots=True)
class IncidentWatch:
    """Remembers which incidents are open and since when the freshness SLO is breached."""

    open: set[tuple[str, str]] = field(default_factory=set)
    _breached_since: dict[str, float] = field(default_factory=dict)

    def evaluate(self, now: float, healths: Iterable[FlowHealth]) -> list[IncidentChange]:
        """The incidents to open and to close now."""
        changes: list[IncidentChange] = []
        for health in healths:
            for cause, detail in self._conditions(now, health):
                key = (health.flow, cause)
                if detail is not None and key not in self.open:
                    self.open.add(key)
                    changes.append(
                        IncidentChange(True, health.flow, health.integration, cause, detail)
                    )
                elif detail is None and key in self.open:
                    self.open.discard(key)
                    changes.append(IncidentChange(False, health.flow, health.integration, cause))
        return changes

    def _conditions(self, now: float, health: FlowHealth) -> Sequence[tuple[str, str | None]]:
        breaker = "its destination's circuit breaker opened" if health.breaker_open else None
        return [
            ("breaker_open", breaker),
            ("freshness", self._freshness(now, health)),
            ("stalled", _stalled(now, health)),
            ("success_rate", _failing(health)),
            ("deletes_held", health.deletes_held),
            ("drift", self._drift(health)),
            ("unreachable", health.unreachable),
            ("refused", health.refused),
            ("slot_wal", self._slot(health)),
        ]

    def _slot(self, health: FlowHealth) -> str | None:
        slot = health.slot
        if slot is None or not slot.exists:
            return None  # no slot keeps nothing
        if slot.retained_bytes is None:
            if (health.flow, "slot_wal") not in self.open:
                return None
            return f"slot {slot.slot} not measured since: {slot.error}"
        if slot.retained_bytes <= slot.limit_bytes:
            return None
        behind = "" if slot.retained_s is None else f", {slot.retained_s:,.0f} s behind"
        return (
            f"replication slot {slot.slot} keeps {wal_size(slot.retained_bytes)} of WAL, over "
            f"the {wal_size(slot.limit_bytes)} allowed (cdc.max_retained){behind}: the flow "
            "is not confirming its stream (stopped, failing, or another process holds the "
            "slot); see `syncwell cdc status`"
        )

    def _drift(self, health: FlowHealth) -> str | None:
        window = health.drift
        if window is None:
            return None
        if not window.verified:
            return "no record read back since" if (health.flow, "drift") in self.open else None
        share = window.drifted / window.verified
        if share <= window.above:
            return None
        named = f": {', '.join(window.fields)} did not stick" if window.fields else ""
        return (
            f"{window.drifted} of {window.verified} records read back in the last 5 minutes "
            f"came back different ({share:.0%}, above {window.above:.0%}){named}"
        )

    def _freshness(self, now: float, health: FlowHealth) -> str | None:
        age = health.oldest_pending_age_s
        if age is None or age <= health.freshness_slo_s:
            self._breached_since.pop(health.flow, None)
            return None
        since = self._breached_since.setdefault(health.flow, now)
        if now - since < BREACH_FOR_S:
            return None if (health.flow, "freshness") not in self.open else "still breached"
        slo = health.freshness_slo_s
        return (
            f"the oldest waiting change is {age:,.0f} s old, over the {slo:,.0f} s freshness SLO "
            f"for {now - since:,.0f} s"
        )


def _failing(health: FlowHealth) -> str | None:
    rate = health.success_rate
    if rate is None or rate >= health.success_slo:
        return None
    return (
        f"{rate:.1%} of write attempts succeeded in the last 5 minutes, under the "
        f"{health.success_slo:.1%} SLO"
    )


def _stalled(now: float, health: FlowHealth) -> str | None:
    last = health.last_read_at if health.last_read_at is not None else health.started_at
    quiet = now - last
    if health.streams:
        if quiet <= STREAM_STALLED_S or health.refused is not None:
            return None  # a refusal is its own incident, with the fix in it
        return f"no successful read of its replication stream for {quiet:,.0f} s"
    if health.interval_s is None:
        return None
    if quiet <= STALLED_INTERVALS * health.interval_s:
        return None
    return (
        f"no successful read for {quiet:,.0f} s, {quiet / health.interval_s:,.1f} intervals "
        f"of {health.interval_s:,.0f} s"
    )
