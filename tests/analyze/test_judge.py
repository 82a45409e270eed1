"""The judgement names the integration and the reason planted in the measurements, and none
when every flow is within its SLO."""

from __future__ import annotations

import pytest

from syncwell.analyze import (
    IncidentFacts,
    Reason,
    analysis_text,
    apply_what_if,
    judge,
    parse_what_if,
)
from tests.analyze.kit import HOUR, facts_of, measured, tools_workspace

FLOWS = {
    "contacts": "crm -> core, interval: 30s, slo: {freshness: 5m}",
    "signups": "core -> email, mode: realtime, slo: {freshness: 2m}",
    "tasks": "core -> project, interval: 1m, slo: {freshness: 10m}",
}


def test_a_healthy_workspace_has_no_constraint() -> None:
    """Quiet flows within their SLOs: no constraint is invented, and the summary says so."""
    analysis = judge(facts_of(tools_workspace(FLOWS), {}))
    assert analysis.constraint is None
    assert analysis.summary.startswith("no constraint: every flow within its SLO")
    assert all(not verdict.breaching for verdict in analysis.ranking)


def test_a_poll_interval_above_the_slo_is_named() -> None:
    """A 15-minute poll against a 5-minute SLO breaks it by design, even with no late change
    measured yet; the advice gives the interval to poll at, and realtime since the CRM has
    webhooks."""
    flows = {**FLOWS, "contacts": "crm -> core, interval: 15m, slo: {freshness: 5m}"}
    workspace = tools_workspace(flows, webhooks=("crm",))
    analysis = judge(facts_of(workspace, {}))
    assert analysis.constraint is not None
    assert (analysis.constraint.integration, analysis.constraint.reason) == (
        "crm",
        Reason.POLL_INTERVAL,
    )
    assert "every 15m" in analysis.constraint.evidence
    advice = " ".join(analysis.constraint.advice)
    assert "poll every 2m 30s or less" in advice
    assert "mode: realtime" in advice and "already sends webhooks" in advice


def test_a_rate_limit_below_demand_is_named_with_the_limit_to_ask_for() -> None:
    """The project tool allows 10 requests/s; tasks needs one per change at 15/s: 150% of the
    budget. The advice asks for ceil(15 * 1.25) = 19/s."""
    workspace = tools_workspace(FLOWS, rate_limits={"project": 10})
    tasks = measured(per_minute=900, batch=100, requests=60 * 600, changes_out=60 * 600)
    tasks |= {"busy_s": 3600.0, "out_busy": 60 * 600, "backlog_max": 18000}
    analysis = judge(facts_of(workspace, {"tasks": tasks}))
    assert analysis.constraint is not None
    assert (analysis.constraint.integration, analysis.constraint.reason) == (
        "project",
        Reason.RATE_LIMIT,
    )
    assert analysis.constraint.budget_use == pytest.approx(1.5)
    assert "150% of project's rate limit" in analysis.constraint.evidence
    assert any("at least 19/s" in advice for advice in analysis.constraint.advice)


def test_an_outage_prone_tool_is_named_with_its_downtime() -> None:
    """The email platform's breaker was open 12 of 60 minutes: 20% down against a 1% budget;
    its flow is also late, but the outage is the cause named."""
    email = measured(breaker_open_s=12 * 60, late=300, backlog_max=400)
    incidents = {"email": IncidentFacts(count=3, resolved=3, resolve_s_total=720, open_s=720)}
    analysis = judge(facts_of(tools_workspace(FLOWS), {"signups": email}, incidents=incidents))
    assert analysis.constraint is not None
    assert (analysis.constraint.integration, analysis.constraint.reason) == (
        "email",
        Reason.OUTAGES,
    )
    assert "20%" in analysis.constraint.evidence
    assert analysis.constraint.incidents == 3
    assert analysis.constraint.mean_resolve_s == 240
    assert "add a fallback" in analysis.constraint.advice[0]


def test_poison_records_are_named_with_the_field_they_share() -> None:
    """30 of 600 signups refused (5% against a 1% budget), most for their email."""
    signups = measured(dead_lettered=30, changes_out=570)
    poison = {"signups": ("email", "email: not a valid address")}
    analysis = judge(facts_of(tools_workspace(FLOWS), {"signups": signups}, poison=poison))
    assert analysis.constraint is not None
    assert (analysis.constraint.integration, analysis.constraint.reason) == (
        "email",
        Reason.POISON,
    )
    assert "share field email" in analysis.constraint.advice[0]
    assert "dlq replay --flow signups" in analysis.constraint.advice[1]


def test_capacity_that_breaks_only_at_double_volume() -> None:
    """Writes of 100 take 1 s: 6,000/min at most, against 3,600/min of demand (60%). Now
    healthy; at volume=2x the project tool is the constraint, for capacity, and the advice
    raises the batch size to ceil(100 * 1.2 * 1.25) = 150."""
    flows = {**FLOWS, "tasks": "core -> project, interval: 1m, batch_size: 100"}
    workspace = tools_workspace(flows)
    tasks = measured(per_minute=3600, batch=100, write_ms=1000)
    facts = facts_of(workspace, {"tasks": tasks})
    assert judge(facts).constraint is None
    changes = parse_what_if(["volume=2x"], list(workspace.flows))
    doubled, volumes = apply_what_if(facts, changes)
    analysis = judge(doubled, volumes, ("volume=2x",))
    assert analysis.constraint is not None
    assert (analysis.constraint.integration, analysis.constraint.reason) == (
        "project",
        Reason.CAPACITY,
    )
    assert analysis.constraint.utilisation == pytest.approx(1.2)
    assert "from 100 to 150" in analysis.constraint.advice[0]


def test_the_constraint_moves_when_the_first_is_fixed() -> None:
    """An outage-prone email platform limits the workflow ahead of a slow CRM poll; with the
    outage gone, the CRM's poll interval is the constraint; with that fixed, none."""
    flows = {**FLOWS, "contacts": "crm -> core, interval: 10m, slo: {freshness: 5m}"}
    workspace = tools_workspace(flows)
    outage = {"signups": measured(breaker_open_s=30 * 60)}
    first = judge(facts_of(workspace, outage))
    assert first.constraint is not None and first.constraint.integration == "email"
    assert [v.integration for v in first.ranking[:2]] == ["email", "crm"]
    second = judge(facts_of(workspace, {}))
    assert second.constraint is not None
    assert (second.constraint.integration, second.constraint.reason) == (
        "crm",
        Reason.POLL_INTERVAL,
    )
    fixed, _ = apply_what_if(
        facts_of(workspace, {}), parse_what_if(["contacts.interval=1m"], list(flows))
    )
    assert judge(fixed).constraint is None


def test_a_realtime_switch_clears_a_poll_floor() -> None:
    """`FLOW.mode=realtime` removes the floor the interval set, and the lateness measured
    under it."""
    flows = {**FLOWS, "contacts": "crm -> core, interval: 20m, slo: {freshness: 5m}"}
    workspace = tools_workspace(flows)
    facts = facts_of(workspace, {"contacts": measured(late=400)})
    changed, volumes = apply_what_if(facts, parse_what_if(["contacts.mode=realtime"], list(flows)))
    assert judge(facts).constraint is not None
    assert judge(changed, volumes).constraint is None


def test_workflows_through_an_integration_break_ties() -> None:
    """Two tools equally late: the one more workflows pass through ranks first."""
    flows = {
        "a": "core -> one, slo: {freshness: 5m}",
        "b": "core -> two, slo: {freshness: 5m}",
        "c": "two -> core, slo: {freshness: 5m}",
    }
    workspace = tools_workspace(flows, workflows={"w1": ["a"], "w2": ["b"], "w3": ["c"]})
    late = measured(late=60)
    analysis = judge(facts_of(workspace, {"a": late, "b": late}))
    assert analysis.constraint is not None
    assert analysis.constraint.integration == "two"
    assert analysis.constraint.workflows == 2
    limits = {w.workflow: w.integration for w in analysis.workflows}
    assert limits == {"w1": "one", "w2": "two", "w3": None}


def test_timeouts_are_told_apart_from_errors() -> None:
    """Late changes with retries that were mostly timeouts are named timeouts; mostly 5xx,
    errors. (Retries alone, nothing late, break no SLO: tests/analyze/test_reasons.py.)"""
    slow = measured(attempts=100, retries_timeout=8, retries_transient=2, late=60)
    flaky = measured(attempts=100, retries_timeout=1, retries_transient=9, late=60)
    for row, reason in ((slow, Reason.TIMEOUTS), (flaky, Reason.ERRORS)):
        analysis = judge(facts_of(tools_workspace(FLOWS), {"tasks": row}))
        assert analysis.constraint is not None
        assert analysis.constraint.reason is reason


def test_an_hour_long_window_is_reported() -> None:
    """The analysis carries its window and when it was made."""
    analysis = judge(facts_of(tools_workspace(FLOWS), {}, window_s=HOUR))
    assert analysis.window_s == HOUR


def test_the_ranking_counts_one_incident_and_several() -> None:
    """A ranking row says "1 incident" and "3 incidents" (it said "1 incidents", as the demo
    printed for the CRM)."""
    email = measured(breaker_open_s=12 * 60, late=300)
    for count, said in ((1, ", 1 incident (resolved in 4m"), (3, ", 3 incidents (resolved in")):
        incidents = {
            "email": IncidentFacts(count=count, resolved=count, resolve_s_total=240.0 * count)
        }
        facts = facts_of(tools_workspace(FLOWS), {"signups": email}, incidents=incidents)
        text = "\n".join(analysis_text(judge(facts)))
        assert said in text, text
