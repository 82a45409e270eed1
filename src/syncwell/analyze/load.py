"""A flow's load and limits from its facts: demand, capacity and the rate-limit budget.

Capacity is the rate a flow could sustain. The best witness is what it did while work was
waiting (a backlog, with the tool up): that rate includes everything in the way. Two bounds
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
from syncwell.workspace import Workspace

__all__ = ["Load", "budget_use_by_system", "flow_load", "request_demand"]


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
    """Changes arriving per minute (measured minutes only), times the what-if's volume."""
    return facts.changes_in * volume / max(facts.minutes, 1)


def request_demand(facts: FlowFacts, volume: float = 1.0) -> float:
    """Requests per minute the flow needs at its demand: its requests per change written,
    or, when it wrote nothing, the requests it spent per minute (reads)."""
    if facts.requests <= 0:
        return 0.0
    if facts.changes_out > 0:
        return facts.requests / facts.changes_out * demand(facts, volume)
    return facts.requests * volume / max(facts.minutes, 1)


def budget_use_by_system(
    workspace: Workspace, flows: Iterable[FlowFacts], volumes: Mapping[str, float]
) -> dict[str, float]:
    """Per system with a rate limit: requests its flows need over the requests it allows."""
    need: dict[str, float] = {}
    for facts in flows:
        for system in {facts.source, facts.destination}:
            if workspace.systems[system].rate_limit is not None:
                need[system] = need.get(system, 0.0) + request_demand(
                    facts, volumes.get(facts.name, 1.0)
                )
    use = {}
    for system, requests in need.items():
        policy = workspace.systems[system].rate_limit
        assert policy is not None
        use[system] = requests / (policy.per_second * 60)
    return use


def flow_load(facts: FlowFacts, budget_use: Mapping[str, float], volume: float = 1.0) -> Load:
    """The flow's demand against the least of its known capacities."""
    wanted = demand(facts, volume)
    bounds: list[tuple[float, str]] = []
    up_busy_min = facts.busy_minutes - facts.breaker_open_s / 60
    if up_busy_min >= 1 and facts.out_busy > 0:
        bounds.append((facts.out_busy / up_busy_min, "observed"))
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
