"""The core ranked with the integrations, and manual steps ranked by what the workspace
declares of them (issue 13, points 4 and 5)."""

from __future__ import annotations

from syncwell.analyze import Reason, judge
from tests.analyze.kit import facts_of, measured, tools_workspace

INTO_CORE = {
    "contacts": "crm -> core, interval: 1s, slo: {freshness: 3s}",
    "tasks": "project -> core, interval: 1s, slo: {freshness: 3s}",
    "signups": "core -> email, interval: 1s, slo: {freshness: 3s}",
}


def test_writes_into_the_core_that_take_most_of_the_slo_make_the_core_the_constraint() -> None:
    """Every batch written into the core takes 2 s against 3-second SLOs and changes are
    late: the core is named for its slow writes, and the tools writing into it are not."""
    slow = measured(per_minute=60, batch=10, write_ms=2000, late=180)
    analysis = judge(facts_of(tools_workspace(INTO_CORE), {"contacts": slow, "tasks": slow}))
    assert analysis.constraint is not None
    assert analysis.constraint.integration == "core"
    assert analysis.constraint.reason is Reason.SLOW_WRITES
    assert "each write into core took 2s" in analysis.constraint.evidence
    breaking = [v.integration for v in analysis.ranking if v.breaching]
    assert breaking == ["core"]
    advice = " ".join(analysis.constraint.advice)
    assert "indexes and triggers" in advice
    assert "`systems.core.busy_timeout_s: 3`" in advice


def test_writes_into_the_core_slower_than_demand_are_the_cores_capacity() -> None:
    """Demand twice what the core took while work waited: the core, for its capacity."""
    behind = measured(per_minute=120, batch=100, busy_s=3600.0, out_busy=3600, backlog_max=500)
    behind["changes_out"] = 3600
    analysis = judge(facts_of(tools_workspace(INTO_CORE), {"contacts": behind}))
    assert analysis.constraint is not None
    assert (analysis.constraint.integration, analysis.constraint.reason) == (
        "core",
        Reason.CAPACITY,
    )
    crm = next(v for v in analysis.ranking if v.integration == "crm")
    assert not crm.breaching
    assert "for core (capacity), not for crm" in crm.evidence


def test_the_core_is_ranked_when_healthy_and_a_tools_own_cause_stays_with_the_tool() -> None:
    """A poll too slow for its SLO is the CRM's, though its flow writes into the core; the
    core is in the ranking, within its SLOs, by the writes into it."""
    flows = {**INTO_CORE, "contacts": "crm -> core, interval: 1h, slo: {freshness: 5m}"}
    analysis = judge(facts_of(tools_workspace(flows), {}))
    assert analysis.constraint is not None
    assert (analysis.constraint.integration, analysis.constraint.reason) == (
        "crm",
        Reason.POLL_INTERVAL,
    )
    core = next(v for v in analysis.ranking if v.integration == "core")
    assert not core.breaching
    assert core.utilisation is not None


def test_a_tools_rate_limit_on_a_flow_into_the_core_is_not_the_cores_load() -> None:
    """A flow into the core held back by the CRM's budget: the CRM is named for its rate
    limit, and the core shows none of that load as its own."""
    flows = {"contacts": "crm -> core, interval: 1s, slo: {freshness: 3s}"}
    behind = measured(per_minute=1200, batch=100, requests=36000, backlog_max=500)
    behind |= {"changes_out": 36000, "busy_s": 3600.0, "out_busy": 36000}
    workspace = tools_workspace(flows, rate_limits={"crm": 5})
    analysis = judge(facts_of(workspace, {"contacts": behind}))
    assert analysis.constraint is not None
    assert (analysis.constraint.integration, analysis.constraint.reason) == (
        "crm",
        Reason.RATE_LIMIT,
    )
    core = next(v for v in analysis.ranking if v.integration == "core")
    assert not core.breaching and core.utilisation is None


MANUAL = {
    "signups": "core -> email, slo: {freshness: 1h}",
    "onboarding": "core -> project, mode: manual, slo: {freshness: 1h}",
}


def test_a_manual_step_done_once_a_day_against_an_hour_is_the_constraint() -> None:
    """Done once a day, taking 20 minutes, against a 1-hour SLO: the manual step's
    integration is named, for being manual, with advice to automate it by its settings."""
    flows = {**MANUAL, "onboarding": MANUAL["onboarding"] + ", manual: {every: 1d, takes: 20m}"}
    analysis = judge(facts_of(tools_workspace(flows), {}))
    assert analysis.constraint is not None
    assert analysis.constraint.integration == "project"
    assert analysis.constraint.flow == "onboarding"
    assert analysis.constraint.reason is Reason.MANUAL
    assert analysis.constraint.severity == (86400 + 1200) / 3600
    assert "done by hand" in analysis.constraint.evidence
    advice = " ".join(analysis.constraint.advice)
    assert "`flows.onboarding.mode: poll`" in advice
    assert "`flows.onboarding.mode: realtime`" in advice


def test_a_manual_step_within_its_slo_or_undeclared_breaks_nothing() -> None:
    """Done every 30 minutes against an hour it is within its SLO; without `manual:` it is
    listed, asking for the declaration, and not named."""
    flows = {**MANUAL, "onboarding": MANUAL["onboarding"] + ", manual: {every: 30m, takes: 5m}"}
    assert judge(facts_of(tools_workspace(flows), {})).constraint is None
    analysis = judge(facts_of(tools_workspace(MANUAL), {}))
    assert analysis.constraint is None
    onboarding = next(v for v in analysis.flows if v.flow == "onboarding")
    assert "flows.onboarding.manual" in onboarding.evidence
