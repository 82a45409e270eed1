"""A reason comes from evidence that is there (issue 13, point 1): a 429 is a rate-limit
signal, a tool without a successful answer is down, a configuration mistake is the user's and
named so, and retries that got through in time are noise, not a constraint. Before, every
failed attempt spent the error budget and the reason fell to `timeouts` whenever
`retries_timeout * 2 >= retries`, which holds when both are 0."""

from __future__ import annotations

from dataclasses import replace

from syncwell.analyze import Reason, judge
from tests.analyze.kit import facts_of, measured, tools_workspace

FLOWS = {
    "contacts": "crm -> core, interval: 30s, slo: {freshness: 5m}",
    "signups": "core -> email, mode: realtime, slo: {freshness: 2m}",
    "tasks": "core -> project, interval: 1m, slo: {freshness: 10m}",
}


def test_retries_that_got_through_in_time_are_no_constraint() -> None:
    """A tool failing 5% of writes and reads, every failure retried and every change within
    its SLO: a noisy, healthy run. Nothing is named, and no flow breaks its SLO."""
    noisy = measured(attempts=630, retries_transient=30, reads=57, read_failures=3)
    analysis = judge(facts_of(tools_workspace(FLOWS), {"tasks": noisy, "signups": noisy}))
    assert analysis.constraint is None
    assert not any(verdict.breaching for verdict in analysis.flows)
    assert analysis.summary.startswith("no constraint")


def test_failed_reads_without_a_timeout_are_never_called_timeouts() -> None:
    """Changes late, and reads that failed with errors (no timeout among them, no write
    retried): the reason is errors, and its evidence says so; 0 >= 0 names no timeouts."""
    row = measured(late=120, reads=50, read_failures=10)
    analysis = judge(facts_of(tools_workspace(FLOWS), {"contacts": row}))
    assert analysis.constraint is not None
    assert (analysis.constraint.integration, analysis.constraint.reason) == ("crm", Reason.ERRORS)
    assert "timed out" not in analysis.constraint.evidence
    assert "timeout_s" not in " ".join(analysis.constraint.advice)


def test_429s_that_made_changes_late_are_a_rate_limit() -> None:
    """The project tool answers 429 to a tenth of the writes of tasks, well inside the
    configured budget, and a fifth of its changes arrive late: a rate limit, named with the
    429s, and advice to set the rate it took."""
    workspace = tools_workspace(FLOWS, rate_limits={"project": 50})
    tasks = measured(attempts=66, retries_rate_limited=6, late=120, requests=66)
    analysis = judge(facts_of(workspace, {"tasks": tasks}))
    assert analysis.constraint is not None
    constraint = analysis.constraint
    assert (constraint.integration, constraint.reason) == ("project", Reason.RATE_LIMIT)
    assert "project answered 6 of 66 write attempts 429" in constraint.evidence
    assert "20% of tasks changes arrived later" in constraint.evidence
    advice = " ".join(constraint.advice)
    assert "`systems.project.rate_limit.per_second: 0.1`" in advice  # 60 taken in 3,600 s


def test_a_429_on_a_read_is_a_rate_limit_signal_too() -> None:
    """The CRM answers 429 to reads of contacts, whose changes are late: rate_limit, and the
    evidence names the reads."""
    row = measured(late=120, reads=50, read_failures=10, reads_rate_limited=10)
    analysis = judge(facts_of(tools_workspace(FLOWS), {"contacts": row}))
    assert analysis.constraint is not None
    assert analysis.constraint.reason is Reason.RATE_LIMIT
    assert "crm answered 10 of 60 reads 429" in analysis.constraint.evidence


def test_a_source_without_a_successful_answer_a_fifth_of_the_time_is_an_outage() -> None:
    """The CRM, a source, was down 12 of 60 minutes by its answers; no breaker opened (it
    guards the core, which was up). Named for outages, with the CRM as the one down."""
    row = measured(source_down_s=12 * 60.0, reads=60, read_failures=12)
    analysis = judge(facts_of(tools_workspace(FLOWS), {"contacts": row}))
    assert analysis.constraint is not None
    constraint = analysis.constraint
    assert (constraint.integration, constraint.reason) == ("crm", Reason.OUTAGES)
    assert constraint.evidence.startswith("crm was down 20% of the time contacts was measured")
    assert "fallback for crm" in constraint.advice[0]


def test_a_destination_down_by_its_answers_counts_though_its_breaker_stayed_shut() -> None:
    """The email platform gave no successful answer 9 of 60 minutes while retries kept its
    breaker closed: 15% down, an outage of email."""
    row = measured(destination_down_s=9 * 60.0)
    analysis = judge(facts_of(tools_workspace(FLOWS), {"signups": row}))
    assert analysis.constraint is not None
    assert (analysis.constraint.integration, analysis.constraint.reason) == (
        "email",
        Reason.OUTAGES,
    )
    assert "email was down 15%" in analysis.constraint.evidence


def test_a_configuration_mistake_is_named_as_the_user_s() -> None:
    """Every read of signups fails because its key column allows NULL: a configuration
    mistake, with what the error said, never timeouts, and no outage of anyone."""
    said = "core: key column(s) email of contacts allow NULL; declare them NOT NULL"
    row = measured(
        changes_in=0, changes_out=0, batches=0, attempts=0, reads=0, read_failures=5,
        misconfigured=5,
    )  # fmt: skip
    facts = facts_of(tools_workspace(FLOWS), {"signups": row})
    told = replace(facts.flows["signups"], misconfiguration=said)  # gather reads it from failures
    analysis = judge(replace(facts, flows={**facts.flows, "signups": told}))
    assert analysis.constraint is not None
    constraint = analysis.constraint
    assert (constraint.integration, constraint.flow) == ("email", "signups")
    assert constraint.reason is Reason.CONFIGURATION
    assert said in constraint.evidence
    assert "not the tool's failure" in constraint.advice[0]
    assert [v.integration for v in analysis.ranking if v.breaching] == ["email"]


def test_changes_the_webhooks_missed_and_reconciliation_found_late_are_missed_webhooks() -> None:
    """The CRM's webhooks stopped: its reconciliation, every 5 minutes against a 2-minute SLO,
    found 200 of the hour's 600 changes, a fifth of them late. The reason names the missed
    webhooks, with advice to check the subscription and to reconcile every minute; with a
    reconciliation every 30 s (within half the SLO) the same misses are no reason of their own.
    (Before, this was `freshness`: "20% arrived late", and nothing said why.)"""
    flows = {
        "leads": "crm -> core, mode: realtime, interval: 5m, slo: {freshness: 2m}",
        "signups": "core -> email, interval: 30s, slo: {freshness: 5m}",
    }
    row = measured(late=120, missed_by_webhooks=200, lag_max_s=290.0)
    analysis = judge(facts_of(tools_workspace(flows, webhooks=("crm",)), {"leads": row}))
    assert analysis.constraint is not None
    constraint = analysis.constraint
    assert (constraint.integration, constraint.reason) == ("crm", Reason.MISSED_WEBHOOKS)
    assert constraint.evidence.startswith(
        "200 of 600 leads changes were found by its reconciliation (every 5m), not brought "
        "by crm's webhooks"
    ), constraint.evidence
    assert "check its webhook subscription" in constraint.advice[0]
    assert "`flows.leads.interval: 1m`" in constraint.advice[1]
    often = {**flows, "leads": "crm -> core, mode: realtime, interval: 30s, slo: {freshness: 2m}"}
    analysis = judge(facts_of(tools_workspace(often, webhooks=("crm",)), {"leads": row}))
    assert analysis.constraint is not None
    assert analysis.constraint.reason is Reason.FRESHNESS
