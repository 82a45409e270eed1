"""The judgement: each flow against its SLO, each integration by its worst flow, and the one
integration that limits the workflows — the constraint. Pure: facts in, an `Analysis` out.

A flow breaks its SLO when any of these passes 1 (docs/constraint.md):
- burn: the worst of its late, refused, down and misconfigured shares over its error budget
  (each count share taken at the low end of its 95% confidence interval); retries that got
  through in time spend nothing, they only explain lateness;
- utilisation: demand over capacity (work piles up without end);
- its poll interval over its freshness SLO (changes wait longer than allowed, by design);
- for a CDC flow, how far back its replication slot's WAL reached over its freshness SLO
  (and a minute, a healthy slot's trail): changes wait in the slot (analyze/slot.py).
The reason named is the most specific cause that holds, in `Reason`'s order: an outage makes
changes late, so "late" is only the reason when nothing more specific explains it. A reason
comes from evidence that is there: failed answers name one only when there are some, by their
kind (429s, timeouts, errors), and a configuration mistake is named as the user's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from syncwell.analyze.advice import flow_advice, flow_evidence
from syncwell.analyze.confidence import at_least
from syncwell.analyze.core import blamed, by_system, core_paths
from syncwell.analyze.facts import FlowFacts, IncidentFacts, WorkspaceFacts
from syncwell.analyze.forecast import forecast
from syncwell.analyze.load import Load, budget_use_by_system, flow_load
from syncwell.analyze.slot import slot_behind
from syncwell.analyze.steps import mean_write_s
from syncwell.analyze.verdict import (
    Analysis,
    FlowVerdict,
    IntegrationVerdict,
    Reason,
    WorkflowLimit,
)
from syncwell.analyze.words import duration
from syncwell.analyze.workflows import model_workflows
from syncwell.workspace.manual import Manual

__all__ = ["downtime_share", "judge", "judge_flow"]

_MIN_BUDGET = 1e-4
"""An SLO of 100% leaves no error budget; this keeps its burn finite (and huge)."""
_NEAR_BUDGET = 0.9
"""A budget this used while work piles up is what limits the flow."""
_POLLED = frozenset({"poll", "batch"})


def judge(
    facts: WorkspaceFacts,
    volumes: Mapping[str, float] | None = None,
    what_if: tuple[str, ...] = (),
) -> Analysis:
    """Judge every flow and integration in `facts`, and name the constraint.

    Args:
        facts: the workspace and its measurements.
        volumes: a what-if's volume factor per flow (1 where absent).
        what_if: the what-if's changes, as written, for the report.
    """
    volumes = volumes or {}
    workflows = model_workflows(facts.workspace)
    through: dict[str, int] = {}
    for path in workflows.values():
        for flow in set(path):
            through[flow] = through.get(flow, 0) + 1
    use = budget_use_by_system(facts.flows.values(), volumes)
    core = facts.workspace.core
    verdicts = tuple(
        judge_manual(f, _declared(facts, f.name), through.get(f.name, 0))
        if f.mode == "manual"
        else judge_flow(
            f, flow_load(f, use, volumes.get(f.name, 1.0)), through.get(f.name, 0), core=core
        )
        for f in facts.flows.values()
    )
    paths = _paths_through(workflows, facts) | core_paths(workflows, facts.flows, core)
    ranking = _rank(_by_integration(verdicts, facts, paths))
    constraint = ranking[0] if ranking and ranking[0].breaching else None
    limits = _workflow_limits(workflows, verdicts)
    return Analysis(
        at=facts.at,
        window_s=facts.window_s,
        constraint=constraint,
        ranking=ranking,
        flows=verdicts,
        workflows=limits,
        summary=_summary(constraint, ranking, facts.window_s),
        what_if=what_if,
    )


def judge_flow(
    facts: FlowFacts, load: Load, workflows: int = 0, *, core: str | None = None
) -> FlowVerdict:
    """One flow against its SLO: its shares, its severity, and the reason it breaks, if it does
    (and the system it points at: the core, when the core's writes or answers break it)."""
    budget = max(1.0 - facts.success_slo, _MIN_BUDGET)
    written = facts.changes_out + facts.dead_lettered
    failed, tries = facts.retries + facts.read_failures, facts.attempts + _reads(facts)
    shares = _Shares(
        late=at_least(facts.late, facts.changes_out),
        refused=at_least(facts.dead_lettered, written),
        failed=at_least(failed, tries),
        down=downtime_share(facts),
        mistaken=at_least(facts.misconfigured, tries),
    )
    down = shares.down
    floor = facts.interval_s if facts.mode in _POLLED else None
    burn = shares.spent / budget
    over_floor = floor / facts.freshness_slo_s if floor is not None else 0.0
    severity = max(burn, load.utilisation or 0.0, over_floor, slot_behind(facts))
    reason = _reason(facts, load, budget, shares) if severity > 1 else None
    if reason is Reason.FRESHNESS and _writes_slowly(facts):
        reason = Reason.SLOW_WRITES
    verdict = FlowVerdict(
        flow=facts.name,
        integration=facts.integration,
        demand_per_min=load.demand,
        capacity_per_min=load.capacity,
        capacity_bound=load.bound,
        utilisation=load.utilisation,
        budget_use=load.budget_use,
        freshness_floor_s=floor,
        late_share=facts.late / facts.changes_out if facts.changes_out else 0.0,
        failure_share=facts.dead_lettered / written if written else 0.0,
        retry_share=_share(failed, tries),
        downtime_share=down,
        burn=burn,
        severity=severity,
        reason=reason,
        evidence="",
        workflows=workflows,
    )
    return _explained(replace(verdict, system=blamed(verdict, facts, core)), facts)


def judge_manual(facts: FlowFacts, manual: Manual | None, workflows: int = 0) -> FlowVerdict:
    """A step people do by hand, by what the workspace declares of it (syncwell does not run
    it, so nothing is measured): a change waits up to `every` + `takes` before it is done.
    Without a declaration it is listed with no number and breaks nothing."""
    wait = manual.wait_s if manual is not None else None
    severity = wait / facts.freshness_slo_s if wait is not None else 0.0
    verdict = FlowVerdict(
        flow=facts.name,
        integration=facts.integration,
        demand_per_min=0.0,
        capacity_per_min=None,
        capacity_bound="unknown",
        utilisation=None,
        budget_use=None,
        freshness_floor_s=wait,
        late_share=0.0,
        failure_share=0.0,
        retry_share=0.0,
        downtime_share=0.0,
        burn=0.0,
        severity=severity,
        reason=Reason.MANUAL if severity > 1 else None,
        evidence="",
        workflows=workflows,
    )
    return _explained(verdict, facts)


def _declared(facts: WorkspaceFacts, flow: str) -> Manual | None:
    declared = facts.workspace.flows.get(flow)
    return declared.manual if declared is not None else None


def _writes_slowly(facts: FlowFacts) -> bool:
    """Whether a write into the destination takes half the freshness SLO or more: a floor
    on freshness, as a poll interval is, that the destination's commits set."""
    mean_s = mean_write_s(facts)
    return mean_s is not None and mean_s >= facts.freshness_slo_s / 2


def downtime_share(facts: FlowFacts) -> float:
    """The share of the measured time the flow's source or destination was down: by its
    answers (no successful one in a span that showed it down), or its breaker open."""
    return min(1.0, facts.down[1] / max(facts.measured_s, 1.0))


@dataclass(frozen=True, slots=True)
class _Shares:
    """A flow's shares of its error budget's kinds of spending (count shares at the low end
    of their confidence interval)."""

    late: float
    refused: float
    failed: float
    """Failed write attempts and reads: not spent by itself, it explains lateness."""
    down: float
    mistaken: float
    """Reads and writes failed for a configuration mistake."""

    @property
    def spent(self) -> float:
        """The worst share that spends the budget."""
        return max(self.late, self.refused, self.down, self.mistaken)


def _reason(facts: FlowFacts, load: Load, budget: float, shares: _Shares) -> Reason:
    utilisation = load.utilisation or 0.0
    floor = facts.interval_s if facts.mode in _POLLED else None
    if shares.mistaken > budget:
        return Reason.CONFIGURATION
    if shares.down > budget:
        return Reason.OUTAGES
    if shares.refused > budget:
        return Reason.POISON
    use = load.budget_use or 0.0
    if use > 1 or (utilisation > 1 and use >= _NEAR_BUDGET):
        return Reason.RATE_LIMIT
    if utilisation > 1:
        return Reason.CAPACITY
    if slot_behind(facts) > 1:
        return Reason.SLOT_BEHIND
    slo = facts.freshness_slo_s
    if floor is not None and (floor > slo or (floor >= slo / 2 and shares.late > budget)):
        return Reason.POLL_INTERVAL
    if shares.late > budget and _webhooks_missed(facts, budget):
        return Reason.MISSED_WEBHOOKS
    if shares.failed > budget:  # changes are late (nothing above explains it) and often failed
        return _most_failed(facts) or Reason.FRESHNESS
    return Reason.FRESHNESS


def _webhooks_missed(facts: FlowFacts, budget: float) -> bool:
    """Whether a realtime flow's reconciliation found more changes the webhooks had not
    brought than the budget allows, while it runs every half SLO or less often: those changes
    waited for it (a reconciliation within half the SLO brings them in time)."""
    if facts.mode != "realtime" or facts.interval_s is None:
        return False
    seldom = facts.interval_s >= facts.freshness_slo_s / 2
    return seldom and at_least(facts.missed_by_webhooks, facts.changes_in) > budget


def _most_failed(facts: FlowFacts) -> Reason | None:
    """What the flow's failed answers were mostly: 429s (the system asked it to wait),
    no answer in time, or errors; None when none failed. A tie goes to the first of these."""
    told_to_wait = facts.retries_rate_limited + facts.reads_rate_limited
    timed_out = facts.retries_timeout + facts.reads_timed_out
    other_reads = facts.read_failures - facts.reads_rate_limited - facts.reads_timed_out
    errors = facts.retries_transient + max(0, other_reads - facts.misconfigured)
    count, reason = max(
        ((told_to_wait, Reason.RATE_LIMIT), (timed_out, Reason.TIMEOUTS), (errors, Reason.ERRORS)),
        key=lambda kind: kind[0],
    )
    return reason if count > 0 else None


def _explained(verdict: FlowVerdict, facts: FlowFacts) -> FlowVerdict:
    return replace(
        verdict,
        evidence=flow_evidence(verdict, facts),
        advice=flow_advice(verdict, facts),
    )


def _by_integration(
    verdicts: Sequence[FlowVerdict],
    facts: WorkspaceFacts,
    paths_through: Mapping[str, int],
) -> list[IntegrationVerdict]:
    grouped = by_system(verdicts, facts.flows, facts.workspace.core)
    found = []
    for integration, flows in grouped.items():
        worst = max(flows, key=_weight)
        names = {v.flow for v in flows}
        incidents = facts.incidents.get(integration, IncidentFacts())
        utilisations = [v.utilisation for v in flows if v.utilisation is not None]
        loaded = max(flows, key=lambda v: v.utilisation or 0.0)
        uses = [v.budget_use for v in flows if v.budget_use is not None]
        found.append(
            IntegrationVerdict(
                integration=integration,
                severity=worst.severity,
                reason=worst.reason,
                flow=worst.flow,
                evidence=worst.evidence,
                advice=worst.advice,
                utilisation=max(utilisations) if utilisations else None,
                budget_use=max(uses) if uses else None,
                incidents=incidents.count,
                mean_resolve_s=incidents.mean_resolve_s,
                incident_open_s=incidents.open_s,
                workflows=paths_through.get(integration, 0),
                forecast=forecast([facts.flows[n] for n in sorted(names)], flows),
                capacity_bound=loaded.capacity_bound,
            )
        )
    return found


def _paths_through(
    workflows: Mapping[str, tuple[str, ...]], facts: WorkspaceFacts
) -> dict[str, int]:
    """How many workflows pass through each integration (once each, however many flows)."""
    counts: dict[str, int] = {}
    for path in workflows.values():
        for integration in {facts.flows[f].integration for f in path if f in facts.flows}:
            counts[integration] = counts.get(integration, 0) + 1
    return counts


def _weight(verdict: FlowVerdict) -> tuple[bool, float, int]:
    return (verdict.breaching, verdict.severity, verdict.workflows)


def _rank(verdicts: list[IntegrationVerdict]) -> tuple[IntegrationVerdict, ...]:
    """Breaching first, then the most severe, then the one more workflows pass through."""
    return tuple(
        sorted(
            verdicts,
            key=lambda v: (not v.breaching, -v.severity, -v.workflows, v.integration),
        )
    )


def _workflow_limits(
    workflows: Mapping[str, tuple[str, ...]], verdicts: Sequence[FlowVerdict]
) -> tuple[WorkflowLimit, ...]:
    by_flow = {v.flow: v for v in verdicts}
    limits = []
    for name, path in workflows.items():
        judged = [by_flow[f] for f in path if f in by_flow]
        worst = max(judged, key=_weight, default=None)
        limiting = worst if worst is not None and worst.breaching else None
        limits.append(
            WorkflowLimit(
                workflow=name,
                flows=path,
                integration=limiting.limited_by if limiting else None,
                reason=limiting.reason if limiting else None,
            )
        )
    return tuple(limits)


def _summary(
    constraint: IntegrationVerdict | None,
    ranking: Sequence[IntegrationVerdict],
    window_s: float,
) -> str:
    if constraint is not None:
        return f"constraint: {constraint.integration} ({constraint.reason}): {constraint.evidence}"
    text = f"no constraint: every flow within its SLO over the last {duration(window_s)}"
    busiest = max(
        (v for v in ranking if v.utilisation is not None),
        key=lambda v: v.utilisation or 0.0,
        default=None,
    )
    if busiest is not None and busiest.utilisation and busiest.utilisation >= 0.01:
        text += (
            f"; nearest its limit: {busiest.integration} at {busiest.utilisation:.0%} of capacity"
        )
    return text


def _reads(facts: FlowFacts) -> int:
    return facts.reads + facts.read_failures


def _share(bad: int, good_or_bad: int) -> float:
    return bad / good_or_bad if good_or_bad else 0.0
