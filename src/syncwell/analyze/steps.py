"""Evidence and advice for two floors on freshness that are not the rate of work: a write
into the destination that takes half the SLO or more (`slow_writes`), and a step people do
by hand (`manual`), whose remedy is to automate it."""

from __future__ import annotations

import math

from syncwell.analyze.facts import FlowFacts
from syncwell.analyze.verdict import FlowVerdict
from syncwell.analyze.words import duration, percent, setting, yaml_duration

__all__ = [
    "manual_advice",
    "manual_evidence",
    "mean_write_s",
    "slow_writes_advice",
    "slow_writes_evidence",
]

_FULL = 0.9
"""Batches this full are as large as the flow's batch_size allows."""


def mean_write_s(facts: FlowFacts) -> float | None:
    """The mean time one batch's write took, in seconds; None before any write."""
    return facts.latency_sum_ms / facts.batches / 1000 if facts.batches else None


def slow_writes_evidence(verdict: FlowVerdict, facts: FlowFacts) -> str:
    """How long a write into the destination takes, against the SLO it spends."""
    mean_s = mean_write_s(facts) or 0.0
    slo = facts.freshness_slo_s
    return (
        f"{percent(verdict.late_share)} of {facts.name} changes arrived later than its SLO of "
        f"{duration(slo)}, and each write into {facts.destination} took {duration(mean_s)} on "
        f"average ({percent(mean_s / slo)} of the SLO) with {_per_write(facts):,.0f} changes "
        f"a write"
    )


def slow_writes_advice(facts: FlowFacts) -> tuple[str, ...]:
    """What makes a destination's commits faster, named by the settings that exist."""
    mean_s = mean_write_s(facts) or 0.0
    slo = facts.freshness_slo_s
    advice = [
        f"find what each commit does in {facts.destination}: the indexes and triggers on the "
        f"table {facts.name} writes, and locks other work holds on it; a write of "
        f"{_per_write(facts):,.0f} changes should not take {duration(mean_s)}"
    ]
    per_write = _per_write(facts)
    if mean_s and per_write >= _FULL * facts.batch_size:
        # Full batches: if the time grows with the size, a smaller one finishes within a
        # quarter of the SLO (a floor at half of it leaves the SLO nothing for the rest).
        size = math.floor(per_write * slo / (4 * mean_s))
        if 1 <= size < facts.batch_size:
            advice.append(
                f"if the time grows with the size of a write, smaller writes finish sooner: "
                f"{setting(f'flows.{facts.name}.batch_size', size)} (now "
                f"{facts.batch_size:,}) should take about {duration(slo / 4)}"
            )
    else:
        advice.append(
            f"the writes are not full ({per_write:,.0f} of {facts.batch_size:,}): their time "
            f"is a cost each commit pays, so a smaller "
            f"{setting(f'flows.{facts.name}.batch_size')} will not help"
        )
    if facts.timeout is not None:
        path, timeout_s = facts.timeout
        advice.append(
            f"a write may wait {duration(timeout_s)} before it fails; to see a stuck write as "
            f"a timeout rather than as lateness, bound it by the SLO, "
            f"{setting(path, math.ceil(slo))}"
        )
    return tuple(advice)


def manual_evidence(verdict: FlowVerdict, facts: FlowFacts) -> str:
    """How long a change waits for the person who does the step."""
    wait = verdict.freshness_floor_s
    if wait is None:
        return (
            f"{facts.name} is done by hand, and the workspace does not say how often "
            f"(declare it in {setting(f'flows.{facts.name}.manual')})"
        )
    return (
        f"{facts.name} is done by hand: a change waits up to {duration(wait)} before a person "
        f"has done it, against a freshness SLO of {duration(facts.freshness_slo_s)}"
    )


def manual_advice(facts: FlowFacts) -> tuple[str, ...]:
    """Automate the step: the settings that make it a flow syncwell runs."""
    name, slo = facts.name, facts.freshness_slo_s
    poll = setting(f"flows.{name}.mode", "poll")
    interval = setting(f"flows.{name}.interval", yaml_duration(slo / 2))
    return (
        f"automate {name}: {poll} with {interval} reads {facts.source} often enough for its "
        f"SLO of {duration(slo)} (remove its manual: and give it a cursor)",
        f"or {setting(f'flows.{name}.mode', 'realtime')} if {facts.source} can send webhooks "
        f"(declared in {setting(f'systems.{facts.source}.webhooks')})",
    )


def _per_write(facts: FlowFacts) -> float:
    return facts.changes_out / facts.batches if facts.batches else 0.0
