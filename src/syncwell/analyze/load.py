"""A flow's load and limits from its facts: demand, capacity and the rate-limit budget.

Capacity is the rate a flow could sustain. The best witness is what it did while work was
waiting: the changes written by batches that had more behind them, over the time those
writes took (rate-limit waits and retries included, the breaker's pauses not). Two bounds
hold besides: a flow writes one batch at a time, so it cannot beat its batch size over its
mean write time; and a system with a rate limit cannot take more requests than its budget,
shared by all its flows. The capacity is the least of the three that are known.

The second bound takes batches at the size they had: bigger batches would amortise a write's
fixed cost, so it is a floor on what the flow could do, and a fair one once work waits
(batches then fill up to batch_size).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from syncwell.analyze.facts import FlowFacts

__all__ = ["Load", "budget_use_by_system", "flow_load", "request_demand"]

_MIN_BUSY_S = 1.0
"""Less time than this writing with a backlog is not enough to call a rate the capacity."""


@dataclass(frozen=True, slots=True)
class Load:
    """A flow's demand and capacity, changes per minute."""

    demand: float
    capacity: float | None
    bound: str
    budget_use: float | None

    @property
    def utilisation(self) -> float | None:
        """Demand over capacity: at 1 or more, work piles up."""
        if self.capacity is None:
            return None
        if self.capacity <= 0:
            return float("inf") if self.demand > 0 else 0.0
        return self.demand / self.capacity


def demand(facts: FlowFacts, volume: float = 1.0) -> float:
    """Changes arriving per minute the engine measured that had to be written, times the
    what-if's volume. A first sync's full read is work done once, and an echo or a stale
    version is dropped unwritten: neither is the flow's steady demand."""
    steady = max(0, facts.changes_in - facts.backfill_in - facts.screened)
    return steady * volume / _measured_min(facts)


def _measured_min(facts: FlowFacts) -> float:
    return max(facts.measured_s, 1.0) / 60


def request_demand(facts: FlowFacts, volume: float = 1.0) -> float:
    """Requests per minute the flow needs at its demand: its requests per change written,
    or, when it wrote nothing, the requests it spent per minute (reads)."""
    if facts.requests <= 0:
        return 0.0
    if facts.changes_out > 0:
        return facts.requests / facts.changes_out * demand(facts, volume)
    return facts.requests * volume / _measured_min(facts)


def budget_use_by_system(
    flows: Iterable[FlowFacts], volumes: Mapping[str, float]
) -> dict[str, float]:
    """Per system with a rate limit: requests its flows need over the requests it allows."""
    need: dict[str, float] = {}
    allowed: dict[str, float] = {}
    for facts in flows:
        sides = (
            (facts.source, facts.source_rate_per_s),
            (facts.destination, facts.destination_rate_per_s),
        )
        for system, per_second in sides:
            if per_second is None:
                continue
            allowed[system] = min(allowed.get(system, per_second), per_second)
            requests = request_demand(facts, volumes.get(facts.name, 1.0))
            need[system] = need.get(system, 0.0) + requests
    return {system: need[system] / (allowed[system] * 60) for system in need}


def flow_load(facts: FlowFacts, budget_use: Mapping[str, float], volume: float = 1.0) -> Load:
    """The flow's demand against the least of its known capacities."""
    wanted = demand(facts, volume)
    bounds: list[tuple[float, str]] = []
    if facts.busy_s >= _MIN_BUSY_S and facts.out_busy > 0:
        bounds.append((facts.out_busy / facts.busy_s * 60, "observed"))
    if facts.batches > 0 and facts.latency_sum_ms > 0 and facts.changes_out > 0:
        ms_per_change = facts.latency_sum_ms / facts.changes_out
        bounds.append((60_000 / ms_per_change, "latency"))
    uses = [budget_use[s] for s in (facts.source, facts.destination) if s in budget_use]
    use = max(uses) if uses else None
    if use is not None and use > 0 and wanted > 0:
        bounds.append((wanted / use, "rate_limit"))
    if not bounds:
        return Load(wanted, None, "unknown", use)
    capacity, bound = min(bounds)
    return Load(wanted, capacity, bound, use)
