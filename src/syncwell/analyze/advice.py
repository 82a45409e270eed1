"""Evidence and advice, in sentences a founder understands, computed from the numbers.

Evidence says what happened (the measurements that make the case); advice says what to change,
with the number to change it to wherever one can be computed.
"""

from __future__ import annotations

import math

from syncwell.analyze.facts import FlowFacts
from syncwell.analyze.verdict import FlowVerdict, Reason
from syncwell.analyze.words import duration, percent, rate

__all__ = ["flow_advice", "flow_evidence"]

_HEADROOM = 1.25
"""Advice aims a quarter above demand, so that a busy day does not break the SLO again."""


def flow_evidence(verdict: FlowVerdict, facts: FlowFacts) -> str:
    """Why the flow breaks its SLO (or how it stands, when it does not)."""
    name, slo = facts.name, duration(facts.freshness_slo_s)
    match verdict.reason:
        case Reason.OUTAGES:
            return (
                f"{facts.destination} was down (breaker open) {percent(verdict.downtime_share)} "
                f"of the time {name} was measured ({duration(facts.breaker_open_s)} in all)"
            )
        case Reason.POISON:
            total = facts.changes_out + facts.dead_lettered
            field = f"; most name field {facts.poison_field}" if facts.poison_field else ""
            return (
                f"{facts.destination} refused {facts.dead_lettered:,} of {total:,} {name} "
                f'changes ({percent(verdict.failure_share)}){field}: "{facts.poison_reason}"'
            )
        case Reason.RATE_LIMIT:
            system = _limited_system(facts)
            return (
                f"{name} needs {percent(verdict.budget_use or 0)} of {system}'s rate limit "
                f"to keep up with {rate(verdict.demand_per_min)} of changes; "
                f"the backlog reached {facts.backlog_max:,}"
            )
        case Reason.CAPACITY:
            return (
                f"changes for {name} arrive at {rate(verdict.demand_per_min)} but "
                f"{facts.destination} takes at most {rate(verdict.capacity_per_min or 0)} "
                f"({_bound(verdict.capacity_bound)}); the backlog reached {facts.backlog_max:,}"
            )
        case Reason.POLL_INTERVAL:
            interval = duration(facts.interval_s or 0)
            late = f"; {percent(verdict.late_share)} of changes arrived late" if facts.late else ""
            return (
                f"{name} reads {facts.source} every {interval}, so a change can wait {interval} "
                f"before it is even read, against a freshness SLO of {slo}{late}"
            )
        case Reason.TIMEOUTS | Reason.ERRORS:
            what = "timed out" if verdict.reason is Reason.TIMEOUTS else "failed"
            return (
                f"{percent(verdict.retry_share)} of writes to {facts.destination} and reads of "
                f"{facts.source} {what} ({facts.retries:,} writes retried, "
                f"{facts.retries_timeout:,} of them timeouts; {facts.read_failures:,} reads "
                f"failed)"
            )
        case Reason.FRESHNESS:
            return (
                f"{percent(verdict.late_share)} of {name} changes arrived later than its SLO "
                f"of {slo} (the worst after {duration(facts.lag_max_s)})"
            )
    load = f"at {percent(verdict.utilisation)} of capacity" if verdict.utilisation else "idle"
    return f"{name} is within its SLO, {load}"


def flow_advice(verdict: FlowVerdict, facts: FlowFacts) -> tuple[str, ...]:
    """What to change, with numbers; nothing for a healthy flow."""
    match verdict.reason:
        case Reason.OUTAGES:
            return _outage_advice(verdict, facts)
        case Reason.POISON:
            return _poison_advice(facts)
        case Reason.RATE_LIMIT:
            return _rate_limit_advice(verdict, facts)
        case Reason.CAPACITY:
            return _capacity_advice(verdict, facts)
        case Reason.POLL_INTERVAL:
            return _poll_advice(verdict, facts)
        case Reason.TIMEOUTS:
            return (
                f"writes to {facts.destination} take {_mean_write(facts)} on average: raise "
                f"the system's timeout_s or lower {facts.name}'s batch_size "
                f"(now {facts.batch_size:,})",
            )
        case Reason.ERRORS:
            return (
                f"{facts.destination} fails {percent(verdict.retry_share)} of writes: read "
                f"the errors with `syncwell status` and raise them with its vendor",
            )
        case Reason.FRESHNESS:
            return (
                f"changes take {duration(_mean_lag(facts))} on average to arrive: look at "
                f"the backlog and the write time ({_mean_write(facts)})",
            )
    return ()


def _outage_advice(verdict: FlowVerdict, facts: FlowFacts) -> tuple[str, ...]:
    return (
        f"the breaker was open {percent(verdict.downtime_share)} of the time: add a fallback "
        f"for {facts.destination} (a second endpoint or a queue the tool drains), and ask its "
        f"vendor for the cause",
        "syncwell keeps every change meanwhile and catches up on recovery; `syncwell "
        "incidents` lists each outage and its time to resolve",
    )


def _poison_advice(facts: FlowFacts) -> tuple[str, ...]:
    field = facts.poison_field
    fix = (
        f"the poison records share field {field}: validate or clean {field} in "
        f"{facts.source} before it syncs"
        if field
        else f"read the refused records with `syncwell dlq list --flow {facts.name}`"
    )
    return (fix, f"then replay them: `syncwell dlq replay --flow {facts.name}`")


def _rate_limit_advice(verdict: FlowVerdict, facts: FlowFacts) -> tuple[str, ...]:
    system = _limited_system(facts)
    per_second = _limited_rate(facts)
    use = verdict.budget_use or 0.0
    advice = []
    if per_second is not None:
        needed = per_second * use * _HEADROOM
        advice.append(
            f"{system}'s budget of {per_second:g} requests/s carries "
            f"{rate(verdict.capacity_per_min or 0)} of {facts.name}; ask for at least "
            f"{math.ceil(needed)}/s"
        )
    if facts.changes_out and facts.requests > facts.changes_out * 0.5:
        per_change = facts.requests / facts.changes_out
        advice.append(
            f"each change costs {per_change:.1f} requests: a bulk endpoint (write.bulk) "
            f"would cut that to a fraction"
        )
    advice.append(f"poll {system}'s flows less often, so that live changes get the budget")
    return tuple(advice)


def _capacity_advice(verdict: FlowVerdict, facts: FlowFacts) -> tuple[str, ...]:
    utilisation = verdict.utilisation or 1.0
    mean_batch = facts.changes_out / facts.batches if facts.batches else 0.0
    faster = f"make {facts.destination}'s writes faster (its indexes, its plan's limits)"
    if mean_batch < facts.batch_size * 0.9:
        return (
            f"writes to {facts.destination} average {mean_batch:,.0f} changes in "
            f"{_mean_write(facts)}; under more load they fill up to batch_size "
            f"({facts.batch_size:,}), which amortises each write: measure again under the "
            f"load, and if it still falls short, {faster}",
        )
    batch = min(100_000, math.ceil(facts.batch_size * utilisation * _HEADROOM))
    return (
        f"{facts.destination} writes a full batch in {_mean_write(facts)}: raise "
        f"{facts.name}'s batch_size from {facts.batch_size:,} to {batch:,} to keep up with "
        f"{rate(verdict.demand_per_min)}",
        f"or {faster}",
    )


def _poll_advice(verdict: FlowVerdict, facts: FlowFacts) -> tuple[str, ...]:
    slo = facts.freshness_slo_s
    advice = [
        f"the poll interval ({duration(facts.interval_s or 0)}) sets a floor on freshness "
        f"that breaks the SLO ({duration(slo)}): poll every {duration(slo / 2)} or less"
    ]
    allowed = _budget_interval(facts)
    if allowed is not None:
        advice.append(
            f"the rate-limit budget of {facts.source} allows an interval of {duration(allowed)}"
        )
    if facts.source_sends_webhooks:
        advice.append(
            f"switch {facts.name} to mode: realtime: {facts.source} already sends webhooks"
        )
    else:
        advice.append(
            f"switch {facts.name} to mode: realtime if {facts.source} can send webhooks "
            "(polling stays as the safety net)"
        )
    return tuple(advice)


def _budget_interval(facts: FlowFacts) -> float | None:
    """The shortest poll interval the source's rate limit allows, at this flow's cost per read."""
    if facts.source_rate_per_s is None or not facts.reads or not facts.requests:
        return None
    per_read = facts.requests / facts.reads
    return per_read / facts.source_rate_per_s


def _limited_system(facts: FlowFacts) -> str:
    if facts.destination_rate_per_s is not None:
        return facts.destination
    return facts.source


def _limited_rate(facts: FlowFacts) -> float | None:
    if facts.destination_rate_per_s is not None:
        return facts.destination_rate_per_s
    return facts.source_rate_per_s


def _bound(bound: str) -> str:
    return {
        "observed": "its rate while work waited",
        "latency": "its batches' size over their write time",
        "rate_limit": "its rate-limit budget",
    }.get(bound, "estimated")


def _mean_write(facts: FlowFacts) -> str:
    if not facts.batches:
        return "an unknown time"
    return duration(facts.latency_sum_ms / facts.batches / 1000)


def _mean_lag(facts: FlowFacts) -> float:
    return facts.lag_sum_s / facts.batches if facts.batches else 0.0
