"""What the analysis concludes, as plain values: per flow, per integration, per workflow."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from syncwell.analyze.tickets import TicketEvidence

__all__ = ["Analysis", "FlowVerdict", "Forecast", "IntegrationVerdict", "Reason", "WorkflowLimit"]


class Reason(StrEnum):
    """Why a flow breaks its SLO, from the most specific cause to the most general."""

    CONFIGURATION = "configuration"
    """The workspace does not fit a system (a key column that allows NULL, a missing column):
    reads or writes fail for the user's mistake, more often than the error budget allows."""
    OUTAGES = "outages"
    """A tool was down, by its answers or its breaker, longer than the error budget allows."""
    POISON = "poison"
    """The destination refuses records: more dead letters than the error budget allows."""
    RATE_LIMIT = "rate_limit"
    """Demand needs more requests than the system's rate-limit budget allows, or the system
    answered 429s that made changes late."""
    CAPACITY = "capacity"
    """Changes arrive faster than the destination takes them."""
    SLOT_BEHIND = "slot_behind"
    """A `mode: cdc` flow's replication slot fell behind: the WAL it keeps reaches back longer
    than the freshness SLO (and a minute), so changes wait in the slot before syncwell reads
    them, and the database keeps that WAL on its disk."""
    POLL_INTERVAL = "poll_interval"
    """The poll (or batch) interval alone makes changes later than the freshness SLO."""
    MANUAL = "manual"
    """People do the step by hand: how often they do it (and how long it takes them), as the
    workspace declares (`flows.<name>.manual`), is longer than the freshness SLO."""
    MISSED_WEBHOOKS = "missed_webhooks"
    """A realtime flow's reconciliation found changes its source's webhooks did not bring,
    and runs too seldom to bring them within the freshness SLO: they arrived late."""
    SLOW_WRITES = "slow_writes"
    """Changes arrive late and a write into the destination takes half the freshness SLO or
    more: the destination's commits, not the rate of work, make them late."""
    TIMEOUTS = "timeouts"
    """Changes arrive late, and most failed writes and reads got no answer in time."""
    ERRORS = "errors"
    """Changes arrive late, and most failed writes and reads were errors (5xx, connection)."""
    FRESHNESS = "freshness"
    """Changes arrive later than the SLO, for no cause the measurements single out."""


@dataclass(frozen=True, slots=True)
class FlowVerdict:
    """One flow, judged: its load, its limits and how it stands against its SLO."""

    flow: str
    integration: str
    demand_per_min: float
    capacity_per_min: float | None
    capacity_bound: str
    """What sets the capacity: observed (the rate while a backlog waited), latency (batch
    size over write time), rate_limit (the system's budget), or unknown."""
    utilisation: float | None
    budget_use: float | None
    """Requests the system's flows need over what its rate limit allows; None if unlimited."""
    freshness_floor_s: float | None
    late_share: float
    """Changes written later than the freshness SLO, of those written (as measured)."""
    failure_share: float
    """Changes refused for good (dead letters), of those written or refused."""
    retry_share: float
    """Write attempts that failed (and were retried) and reads that failed, of all write
    attempts and reads. Not spent from the budget by itself: retries that got through in time
    cost nothing the SLO counts; they explain lateness when there is some."""
    downtime_share: float
    """The share of the measured time its source or destination was down (`FlowFacts.down`)."""
    burn: float
    """The worst of the shares over the error budget (1 - success SLO): late, refused, down,
    and failed for a configuration mistake; each count share taken at the low end of its 95%
    confidence interval. Above 1, the SLO breaks."""
    severity: float
    """The largest of burn, utilisation and floor over SLO: above 1, the flow breaks its SLO."""
    reason: Reason | None
    evidence: str
    advice: tuple[str, ...] = ()
    workflows: int = 0
    system: str = ""
    """The system its reason points at: its integration, or the core when the core's writes
    or answers are what break it ('' read as its integration)."""

    @property
    def limited_by(self) -> str:
        """The system ranked for this flow: `system`, or its integration."""
        return self.system or self.integration

    @property
    def breaching(self) -> bool:
        """Whether the flow breaks its SLO (or will: demand above capacity)."""
        return self.reason is not None


@dataclass(frozen=True, slots=True)
class Forecast:
    """When an integration's demand meets its capacity, if volume keeps its trend."""

    growth_per_week: float | None
    """Relative growth of changes in per week (0.12 is +12%); None without enough days."""
    days_to_saturation: float | None
    limit: str = ""
    """What saturates first: capacity, or the rate-limit budget."""
    sentence: str = ""
    model: str = ""
    """How volume grows, as fitted: linear or compounding; '' without enough days."""
    days_earliest: float | None = None
    """The early end of the range of days to saturation (the growth's 90% interval)."""
    days_latest: float | None = None
    """Its late end; None when that is not within a year."""


@dataclass(frozen=True, slots=True)
class IntegrationVerdict:
    """One integration (an external system and its flows), judged by its worst flow."""

    integration: str
    severity: float
    reason: Reason | None
    flow: str
    evidence: str
    advice: tuple[str, ...]
    utilisation: float | None
    budget_use: float | None
    incidents: int
    mean_resolve_s: float | None
    incident_open_s: float
    workflows: int
    forecast: Forecast = field(default_factory=lambda: Forecast(None, None))
    capacity_bound: str = "unknown"
    """What sets the capacity of its most loaded flow (see `FlowVerdict.capacity_bound`)."""

    @property
    def breaching(self) -> bool:
        """Whether it breaks an SLO now."""
        return self.reason is not None


@dataclass(frozen=True, slots=True)
class WorkflowLimit:
    """A workflow and the integration that limits it (None when it is within its SLOs)."""

    workflow: str
    flows: tuple[str, ...]
    integration: str | None
    reason: Reason | None


@dataclass(frozen=True, slots=True)
class Analysis:
    """A whole analysis: the constraint (or none), the ranking, and what it rests on."""

    at: float
    window_s: float
    constraint: IntegrationVerdict | None
    ranking: tuple[IntegrationVerdict, ...]
    flows: tuple[FlowVerdict, ...]
    workflows: tuple[WorkflowLimit, ...]
    summary: str
    what_if: tuple[str, ...] = ()
    estimates: tuple[str, ...] = ()
    """What a what-if estimated beyond the measurements: a flow switched between polling and
    CDC, its lag now and under the new mode (analyze/lagmodel.py)."""
    tickets: TicketEvidence | None = None
    """Support tickets over the window, beside the measurements (`tickets:` in the workspace);
    evidence only: they never move the constraint."""
