"""The core system, ranked with the integrations (issue 13, point 4).

The core is a system like any other, and the one most often in the way: every flow writes into
it or reads from it. A flow's breach is the core's when its reason points at the core's side:
writes into it are too slow for the demand (capacity not set by a rate limit) or take half the
freshness SLO (slow writes), or writes into it or reads from it failed. An outage stays with the
integration: the breaker that measures it is the integration's.
Such a flow is ranked under the core, and under its integration as within what that tool
controls. The core's load is that of the writes into it, across all flows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from syncwell.analyze.facts import FlowFacts
from syncwell.analyze.verdict import FlowVerdict, Reason

__all__ = ["blamed", "by_system", "core_paths"]


def blamed(verdict: FlowVerdict, facts: FlowFacts, core: str | None) -> str:
    """The core, when the reason `verdict` breaks for points at the core's side; else ''."""
    if core is None or verdict.reason is None or core == facts.integration:
        return ""
    return core if _side(verdict, facts) == core else ""


def _side(verdict: FlowVerdict, facts: FlowFacts) -> str | None:
    """The system, source or destination, whose answers or writes the reason is about."""
    match verdict.reason:
        case Reason.SLOW_WRITES:
            return facts.destination
        case Reason.CAPACITY if verdict.capacity_bound != "rate_limit":
            return facts.destination
        case Reason.TIMEOUTS | Reason.ERRORS:
            return facts.destination if facts.retries >= facts.read_failures else facts.source
    return None


def by_system(
    verdicts: Sequence[FlowVerdict], flows: Mapping[str, FlowFacts], core: str | None
) -> dict[str, list[FlowVerdict]]:
    """The flows each ranked system is judged by: an integration its flows, and the core the
    flows that write into it or read from it. A flow appears breaking only under the system
    its reason points at; under the other it appears within what that system controls."""
    grouped: dict[str, list[FlowVerdict]] = {}
    for verdict in verdicts:
        facts = flows[verdict.flow]
        own = verdict.limited_by
        grouped.setdefault(own, []).append(verdict)
        others = {verdict.integration, *_core_of(facts, core)} - {own}
        for other in sorted(others):
            grouped.setdefault(other, []).append(_seen_from(other, verdict, facts, core))
    return grouped


def core_paths(
    workflows: Mapping[str, tuple[str, ...]], flows: Mapping[str, FlowFacts], core: str | None
) -> dict[str, int]:
    """How many workflows pass through the core (a flow of theirs writes into it or reads
    from it); empty without a core."""
    if core is None:
        return {}
    touching = sum(
        any(core in (flows[f].source, flows[f].destination) for f in path if f in flows)
        for path in workflows.values()
    )
    return {core: touching}


def _core_of(facts: FlowFacts, core: str | None) -> tuple[str, ...]:
    return (core,) if core is not None and core in (facts.source, facts.destination) else ()


def _seen_from(
    system: str, verdict: FlowVerdict, facts: FlowFacts, core: str | None
) -> FlowVerdict:
    """`verdict` as the system that does not limit it sees it: within what it controls, with
    the load of its own side (the core's is the writes into it; it has none in a read)."""
    into = system == facts.destination
    # The core's load is its writes: not a read from it, nor a tool's budget that bounds one.
    theirs = system == core and (not into or verdict.capacity_bound == "rate_limit")
    utilisation = None if theirs else verdict.utilisation
    evidence = verdict.evidence
    if verdict.breaching:
        evidence = (
            f"{verdict.flow} breaks its SLO for {verdict.limited_by} ({verdict.reason}), not "
            f"for {system}"
        )
    return replace(
        verdict,
        utilisation=utilisation,
        capacity_per_min=verdict.capacity_per_min if utilisation is not None else None,
        budget_use=verdict.budget_use if system != core else None,
        severity=min(utilisation or 0.0, 1.0),
        reason=None,
        evidence=evidence,
        advice=(),
    )
