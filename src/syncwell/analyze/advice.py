"""Evidence and advice, in sentences a founder understands, computed from the numbers.

Evidence says what happened (the measurements that make the case); advice says what to change,
with the number to change it to wherever one can be computed. A setting is named as syncwell.yaml
writes it, by its path and with its new value, in backticks (`flows.tasks.batch_size: 2000`),
so that it can be copied into the file as it stands; tests/analyze/test_advice.py loads every
one of them into a workspace, as `syncwell check` would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from syncwell.analyze.facts import FlowFacts, WriteShape
from syncwell.analyze.missed import missed_advice, missed_evidence
from syncwell.analyze.slot import slot_advice, slot_evidence
from syncwell.analyze.steps import (
    manual_advice,
    manual_evidence,
    slow_writes_advice,
    slow_writes_evidence,
)
from syncwell.analyze.verdict import FlowVerdict, Reason
from syncwell.analyze.words import duration, percent, rate, setting, yaml_duration

__all__ = ["flow_advice", "flow_evidence"]

_HEADROOM = 1.25
"""Advice aims a quarter above demand, so that a busy day does not break the SLO again."""
_FULL = 0.9
"""Writes (or requests) this close to their largest size are full: their size limits them."""
_MAX_BATCH_SIZE = 100_000
"""The largest `batch_size` a flow takes."""


def flow_evidence(verdict: FlowVerdict, facts: FlowFacts) -> str:
    """Why the flow breaks its SLO (or how it stands, when it does not)."""
    name, slo = facts.name, duration(facts.freshness_slo_s)
    if facts.mode == "manual" or verdict.reason is Reason.MANUAL:
        return manual_evidence(verdict, facts)
    match verdict.reason:
        case Reason.SLOW_WRITES:
            return slow_writes_evidence(verdict, facts)
        case Reason.SLOT_BEHIND:
            return slot_evidence(verdict, facts)
        case Reason.MISSED_WEBHOOKS:
            return missed_evidence(verdict, facts)
        case Reason.CONFIGURATION:
            said = f': "{facts.misconfiguration}"' if facts.misconfiguration else ""
            return (
                f"{name} cannot work as configured: {facts.misconfigured:,} of its reads and "
                f"writes failed for a configuration mistake{said}"
            )
        case Reason.OUTAGES:
            system, down_s = facts.down
            breaker = ""
            if system == facts.destination and facts.breaker_open_s:
                breaker = f"; its breaker open {duration(facts.breaker_open_s)}"
            return (
                f"{system} was down {percent(verdict.downtime_share)} of the time {name} was "
                f"measured ({duration(down_s)} in all without a successful answer{breaker})"
            )
        case Reason.POISON:
            total = facts.changes_out + facts.dead_lettered
            field = f"; most name field {facts.poison_field}" if facts.poison_field else ""
            return (
                f"{facts.destination} refused {facts.dead_lettered:,} of {total:,} {name} "
                f'changes ({percent(verdict.failure_share)}){field}: "{facts.poison_reason}"'
            )
        case Reason.RATE_LIMIT if _told_to_wait(verdict, facts):
            return (
                f"{percent(verdict.late_share)} of {name} changes arrived later than its SLO of "
                f"{slo}, while {_answered_429(facts)}"
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
            what = "for want of an answer in time" if verdict.reason is Reason.TIMEOUTS else ""
            return (
                f"{percent(verdict.late_share)} of {name} changes arrived later than its SLO of "
                f"{slo}, and {percent(verdict.retry_share)} of writes to {facts.destination} "
                f"and reads of {facts.source} failed, most {what or 'with errors'} "
                f"({facts.retries:,} writes retried, {facts.retries_timeout:,} of them "
                f"timeouts; {facts.read_failures:,} reads failed, "
                f"{facts.reads_timed_out:,} of them timeouts)"
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
        case Reason.CONFIGURATION:
            return _configuration_advice(facts)
        case Reason.OUTAGES:
            return _outage_advice(verdict, facts)
        case Reason.POISON:
            return _poison_advice(facts)
        case Reason.RATE_LIMIT if _told_to_wait(verdict, facts):
            return _told_to_wait_advice(facts)
        case Reason.RATE_LIMIT:
            return _rate_limit_advice(verdict, facts)
        case Reason.CAPACITY:
            return _capacity_advice(verdict, facts)
        case Reason.SLOT_BEHIND:
            return slot_advice(facts)
        case Reason.POLL_INTERVAL:
            return _poll_advice(facts)
        case Reason.MANUAL:
            return manual_advice(facts)
        case Reason.MISSED_WEBHOOKS:
            return missed_advice(facts)
        case Reason.SLOW_WRITES:
            return slow_writes_advice(facts)
        case Reason.TIMEOUTS:
            return _timeout_advice(facts)
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


def _configuration_advice(facts: FlowFacts) -> tuple[str, ...]:
    return (
        "this is a mistake in the workspace or in the system it names, not the tool's "
        "failure: make the fix the error names (in the workspace file or the system's schema), "
        "and check it with `syncwell check`",
        f"`syncwell status` shows the last error of {facts.name}; changes already taken in "
        "wait in the journal and move once it is fixed",
    )


def _outage_advice(verdict: FlowVerdict, facts: FlowFacts) -> tuple[str, ...]:
    system = facts.down[0]
    return (
        f"{system} gave no successful answer {percent(verdict.downtime_share)} of the time: "
        f"add a fallback for {system} (a second endpoint or a queue the tool drains), and ask "
        f"its vendor for the cause",
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


@dataclass(frozen=True, slots=True)
class _Writes:
    """What the flow's writes cost, as measured: changes and requests a write. Requests count
    when the write that spent them ends, so the two always cover the same writes."""

    changes: float
    requests: float

    @property
    def per_request(self) -> float:
        """Changes a request carried."""
        return self.changes / self.requests


def _writes(facts: FlowFacts) -> _Writes | None:
    if not facts.batches or not facts.changes_out or not facts.requests:
        return None
    return _Writes(facts.changes_out / facts.batches, facts.requests / facts.batches)


def _rate_limit_advice(verdict: FlowVerdict, facts: FlowFacts) -> tuple[str, ...]:
    system = _limited_system(facts)
    per_second = _limited_rate(facts)
    if per_second is None:
        return ()
    writes = _writes(facts) if system == facts.destination else None
    needs, cost = _request_need(verdict, facts, writes)
    # The budget is the system's, shared by its flows: what they all need, this one included.
    all_need = max(per_second * (verdict.budget_use or 0.0), needs)
    ask = math.ceil(all_need * _HEADROOM)
    others = (
        f" ({_amount(all_need)}/s with {system}'s other flows)" if all_need > needs * 1.01 else ""
    )
    carries = rate(verdict.capacity_per_min or 0)
    first = (
        f"{system}'s budget of {per_second:g} requests/s carries {carries} of {facts.name}; at "
        f"{rate(verdict.demand_per_min)} of changes, {cost}, it needs {_amount(needs)} requests/s"
        f"{others}"
    )
    if ask > per_second:
        limit = setting(f"systems.{system}.rate_limit.per_second", ask)
        first += f": ask {system} for at least {ask}/s, then set {limit}"
    advice = [first]
    spare = per_second - (all_need - needs)  # what the other flows leave this one
    if spare <= 0:
        return tuple(advice)
    if writes is not None:
        fit = math.ceil(verdict.demand_per_min / 60 * _HEADROOM / spare)
        advice += _write_size_advice(facts, writes, fit)
    elif system == facts.source:
        advice += _read_less_advice(facts, spare)
    return tuple(advice)


def _request_need(
    verdict: FlowVerdict, facts: FlowFacts, writes: _Writes | None
) -> tuple[float, str]:
    """The requests a second the flow needs at its demand, and what they are made of."""
    demand_s = verdict.demand_per_min / 60
    if writes is not None:
        cost = f"{_amount(writes.changes)} a write and {_amount(writes.requests)} requests each"
        return demand_s / writes.changes * writes.requests, cost
    if facts.changes_out and facts.requests:
        per_change = facts.requests / facts.changes_out
        return demand_s * per_change, f"{_amount(per_change)} requests a change"
    spent = facts.requests / max(facts.measured_s, 1.0)
    return spent, "reading"


def _write_size_advice(facts: FlowFacts, writes: _Writes, fit: int) -> list[str]:
    """How to carry `fit` changes a request, when the size of a request is what the budget
    pays for: a bulk endpoint's `max_batch`, a database's `batch_size`, or a bulk endpoint to
    begin with."""
    system, name = facts.destination, facts.name
    bulk = [shape for shape in facts.writes if shape.bulk]
    if facts.writes and not bulk:
        return [
            f"each change costs {_amount(1 / writes.per_request)} requests, one a record: if "
            f"{system}'s API takes many records a request, write through that endpoint "
            f"({_places(facts.writes)} with a body that names {{{{records}}}}) and "
            f"{_max_batches(facts.writes, fit)}"
        ]
    size = min([facts.batch_size, *(shape.max_batch for shape in bulk)])
    if fit <= size or writes.per_request < size * _FULL:
        return []  # requests are not full: their size is not what limits them
    also = ""
    if fit > facts.batch_size:
        also = f", and {setting(f'flows.{name}.batch_size', min(fit, _MAX_BATCH_SIZE))}"
    if bulk:
        return [
            f"each request to {system} carries as many changes as its endpoint takes "
            f"({_amount(writes.per_request)}): to fit the budget at {fit:,} a request, set "
            f"{_max_batches(bulk, fit)}{also}, if {system}'s API takes that many"
        ]
    batch = setting(f"flows.{name}.batch_size", min(fit, _MAX_BATCH_SIZE))
    return [
        f"each write to {system} is one request of {_amount(writes.per_request)} changes: to fit "
        f"the budget at {fit:,} a write, set {batch}"
    ]


def _read_less_advice(facts: FlowFacts, spare: float) -> list[str]:
    """Poll the limited source less often, when its reads are what spend the budget."""
    if not facts.reads or not facts.requests or not facts.interval_s:
        return []
    per_read = facts.requests / facts.reads
    interval = per_read * _HEADROOM / spare
    now = facts.interval_s or 0.0
    if interval <= now or interval > facts.freshness_slo_s:
        return []
    return [
        f"each read of {facts.source} costs {_amount(per_read)} requests: poll no more often than "
        f"{setting(f'flows.{facts.name}.interval', yaml_duration(interval))}, within the "
        f"freshness SLO ({duration(facts.freshness_slo_s)})"
    ]


def _capacity_advice(verdict: FlowVerdict, facts: FlowFacts) -> tuple[str, ...]:
    utilisation = verdict.utilisation or 1.0
    mean_batch = facts.changes_out / facts.batches if facts.batches else 0.0
    name, destination = facts.name, facts.destination
    faster = f"make {destination}'s writes faster (its indexes, its plan's limits)"
    if mean_batch < facts.batch_size * _FULL:
        return (
            f"writes to {destination} average {mean_batch:,.0f} changes in "
            f"{_mean_write(facts)}; under more load they fill up to "
            f"{setting(f'flows.{name}.batch_size')} ({facts.batch_size:,}), which amortises "
            f"each write: measure again under the load, and if it still falls short, {faster}",
        )
    keep_up = f"to keep up with {rate(verdict.demand_per_min)}"
    bulk = [shape for shape in facts.writes if shape.bulk]
    split = [shape for shape in bulk if shape.max_batch < facts.batch_size]
    if facts.writes and not bulk:
        per_request = math.ceil(utilisation * _HEADROOM)
        return (
            f"{destination} takes each record in a request of its own, so a bigger batch "
            f"would not help: if its API takes many records a request, write through that "
            f"endpoint ({_places(facts.writes)} with a body that names {{{{records}}}}) and "
            f"{_max_batches(facts.writes, per_request)} {keep_up}",
            f"or {faster}",
        )
    if split:
        smallest = min(shape.max_batch for shape in split)
        wanted = math.ceil(smallest * utilisation * _HEADROOM)
        also = ""
        if wanted > facts.batch_size:
            size = min(wanted, _MAX_BATCH_SIZE)
            also = f" and {setting(f'flows.{name}.batch_size', size)}"
        return (
            f"{destination} writes a full batch of {facts.batch_size:,} in {_mean_write(facts)} "
            f"as {math.ceil(facts.batch_size / smallest):,} requests: set "
            f"{_max_batches(split, wanted)}{also} {keep_up}, if its API takes that many a "
            f"request",
            f"or {faster}",
        )
    batch = min(_MAX_BATCH_SIZE, math.ceil(facts.batch_size * utilisation * _HEADROOM))
    return (
        f"{destination} writes a full batch in {_mean_write(facts)}: raise {name}'s batch "
        f"size from {facts.batch_size:,} to {batch:,}, "
        f"{setting(f'flows.{name}.batch_size', batch)}, {keep_up}",
        f"or {faster}",
    )


def _poll_advice(facts: FlowFacts) -> tuple[str, ...]:
    slo, name = facts.freshness_slo_s, facts.name
    advice = [
        f"the poll interval ({duration(facts.interval_s or 0)}) sets a floor on freshness "
        f"that breaks the SLO ({duration(slo)}): poll every {duration(slo / 2)} or less, "
        f"{setting(f'flows.{name}.interval', yaml_duration(slo / 2))}"
    ]
    allowed = _budget_interval(facts)
    if allowed is not None:
        advice.append(
            f"the rate-limit budget of {facts.source} allows an interval of {duration(allowed)}"
        )
    realtime = setting(f"flows.{name}.mode", "realtime")
    if facts.source_is_postgres:
        advice.append(
            f"read {name} by change data capture, {setting(f'flows.{name}.mode', 'cdc')}: "
            f"each change as its transaction commits, with no interval; "
            f"`syncwell constraint --what-if {name}.mode=cdc` estimates its lag then"
        )
    elif facts.source_sends_webhooks:
        advice.append(f"switch {name} to {realtime}: {facts.source} already sends webhooks")
    else:
        advice.append(
            f"switch {name} to {realtime} if {facts.source} can send webhooks (declare them "
            f"in {setting(f'systems.{facts.source}.webhooks')}; polling stays as the safety net)"
        )
    return tuple(advice)


def _timeout_advice(facts: FlowFacts) -> tuple[str, ...]:
    mean_s = _mean_write_s(facts)
    name = facts.name
    lower = ""
    if facts.timeout is not None and mean_s:
        # A write taking half the timeout on average leaves room for the slow ones.
        batch = math.floor(facts.batch_size * facts.timeout[1] / (2 * mean_s))
        if 1 <= batch < facts.batch_size:
            lower = f", or lower {setting(f'flows.{name}.batch_size', batch)}"
    if facts.timeout is None:
        return (
            f"writes to {facts.destination} take {_mean_write(facts)} on average: lower "
            f"{name}'s {setting(f'flows.{name}.batch_size')} (now {facts.batch_size:,})",
        )
    path, timeout_s = facts.timeout
    raised = math.ceil(2 * max(timeout_s, mean_s or 0.0))
    return (
        f"writes to {facts.destination} take {_mean_write(facts)} on average against a "
        f"timeout of {duration(timeout_s)}: raise it, {setting(path, raised)}{lower}",
    )


def _told_to_wait(verdict: FlowVerdict, facts: FlowFacts) -> bool:
    """Whether the flow's rate limit is the 429s the system answered, not a budget it needs
    more of (then the evidence is the 429s)."""
    return (verdict.budget_use or 0.0) <= 1 and _429s(facts) > 0


def _429s(facts: FlowFacts) -> int:
    return facts.retries_rate_limited + facts.reads_rate_limited


def _answered_429(facts: FlowFacts) -> str:
    """Who answered 429, to what: the destination to writes, the source to reads."""
    parts = []
    if facts.retries_rate_limited:
        parts.append(
            f"{facts.destination} answered {facts.retries_rate_limited:,} of {facts.attempts:,} "
            "write attempts 429 (too many requests)"
        )
    if facts.reads_rate_limited:
        reads = facts.reads + facts.read_failures
        parts.append(
            f"{facts.source} answered {facts.reads_rate_limited:,} of {reads:,} reads 429 "
            "(too many requests)"
        )
    return " and ".join(parts) + ", asking syncwell to wait"


def _told_to_wait_advice(facts: FlowFacts) -> tuple[str, ...]:
    system = facts.destination if facts.retries_rate_limited else facts.source
    advice = [
        f"{system} asked syncwell to wait although its configured budget had room: ask "
        f"{system} (or its vendor) what limit applies to this account and what else spends it"
    ]
    took = _accepted_rate(facts)
    if took is not None:
        limit = setting(f"systems.{system}.rate_limit.per_second", took)
        advice.append(
            f"{system} took {took:g} requests/s without a 429: set {limit}, so that syncwell "
            "paces itself under the limit instead of being told to wait"
        )
    return tuple(advice)


def _accepted_rate(facts: FlowFacts) -> float | None:
    """Requests a second the flow sent that were not answered 429 (whole above 10, else to
    a tenth; at least a tenth)."""
    accepted = facts.requests - _429s(facts)
    if accepted <= 0 or not facts.measured_s:
        return None
    per_second = accepted / facts.measured_s
    return float(round(per_second)) if per_second >= 10 else max(0.1, round(per_second, 1))


def _places(shapes: list[WriteShape] | tuple[WriteShape, ...]) -> str:
    return " or ".join(setting(shape.setting) for shape in shapes)


def _max_batches(shapes: list[WriteShape] | tuple[WriteShape, ...], value: int) -> str:
    return " and ".join(setting(f"{shape.setting}.max_batch", value) for shape in shapes)


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


def _mean_write_s(facts: FlowFacts) -> float | None:
    return facts.latency_sum_ms / facts.batches / 1000 if facts.batches else None


def _mean_write(facts: FlowFacts) -> str:
    mean_s = _mean_write_s(facts)
    return "an unknown time" if mean_s is None else duration(mean_s)


def _amount(value: float) -> str:
    """A count or a rate with the precision it deserves: 1,250, 83, 6.7, 0.05, 0.0012."""
    if value >= 10:
        return f"{value:,.0f}"
    if value >= 0.1:
        return f"{value:.1f}"
    return f"{value:.2g}"


def _mean_lag(facts: FlowFacts) -> float:
    return facts.lag_sum_s / facts.batches if facts.batches else 0.0
