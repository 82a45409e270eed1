"""The constraint analysis on real engine runs: the core (SQLite), the sandbox's CRM, email
platform and project tool in their own process, and one integration planted as the
bottleneck for a known reason. The analysis must name that integration and that reason from
the measurements the engine kept, and nothing when every tool is healthy."""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path

import pytest

from syncwell.analyze import Reason, moves
from syncwell.engine.progress import FlowProgress
from syncwell.sandbox import FaultSettings
from syncwell.store import open_store
from tests.scenarios.constraintkit import (
    FlowSpec,
    Tools,
    analysis_of,
    drained,
    make_core,
    running,
    sandbox,
    signing_up,
    verdicts,
    write_workspace,
)
from tests.waiting import until, until_true

PROJECT = FaultSettings(rate_limit_per_s=5, latency_ms=20)
"""The project tool, slow but up (the sandbox's default also goes down every 5 minutes)."""


async def test_healthy_tools_within_generous_slos_have_no_constraint(tmp_path: Path) -> None:
    """Signups flowing to the CRM and the email platform, leads and tasks flowing back, all
    well inside 15-minute SLOs: the analysis names no constraint and says so."""
    make_core(tmp_path, 200)
    async with sandbox(tmp_path, project=PROJECT) as tools:
        flows = [
            FlowSpec("to_crm"),
            FlowSpec("to_email"),
            FlowSpec("leads", interval="2s"),
            FlowSpec("tasks", interval="5s"),
        ]
        workspace = write_workspace(tmp_path, tools, flows, crm_rate=20)
        async with running(workspace, measure_every_s=1.0) as run:
            async with signing_up(tmp_path, per_s=2):
                await asyncio.sleep(10)
            await drained(run.engine)
    analysis = await analysis_of(workspace)
    assert analysis.constraint is None, verdicts(analysis)
    assert analysis.summary.startswith("no constraint"), analysis.summary
    assert {v.flow for v in analysis.flows} == {f.name for f in flows}
    assert all(v.demand_per_min > 0 for v in analysis.flows if v.flow.startswith("to_"))
    assert not any(v.breaching for v in analysis.ranking), verdicts(analysis)


async def test_a_poll_slower_than_the_freshness_slo_is_the_constraint(tmp_path: Path) -> None:
    """Leads are read from the CRM every 2 minutes against a 30-second freshness SLO, while
    the other flows are healthy: the CRM is named, for its poll interval, with the interval
    that would meet the SLO."""
    make_core(tmp_path, 100)
    async with sandbox(tmp_path) as tools:
        flows = [FlowSpec("to_email"), FlowSpec("leads", interval="2m", slo="30s")]
        workspace = write_workspace(tmp_path, tools, flows)
        async with running(workspace, measure_every_s=1.0) as run:
            await until(lambda: run.engine.progress["leads"].reads >= 1, within_s=10)
            await asyncio.sleep(3)
            await drained(run.engine)
    analysis = await analysis_of(workspace)
    constraint = analysis.constraint
    assert constraint is not None, verdicts(analysis)
    assert (constraint.integration, constraint.reason, constraint.flow) == (
        "crm",
        Reason.POLL_INTERVAL,
        "leads",
    ), verdicts(analysis)
    assert "every 2m" in constraint.evidence and "SLO of 30s" in constraint.evidence
    assert "poll every 15s or less" in constraint.advice[0]
    email = next(v for v in analysis.ranking if v.integration == "email")
    assert not email.breaching, verdicts(analysis)


async def test_a_rate_limit_below_demand_is_the_constraint(tmp_path: Path) -> None:
    """Signups arrive at 10/s for a CRM that allows 5 requests/s, one request per contact: the
    CRM is named for its rate limit, with the budget its flow needs and the limit to ask for,
    and the engine never earned a 429 while the backlog grew."""
    make_core(tmp_path, 0)
    async with sandbox(tmp_path, crm=FaultSettings(rate_limit_per_s=10), project=PROJECT) as tools:
        flows = [FlowSpec("to_crm", batch=10), FlowSpec("to_email"), FlowSpec("tasks")]
        workspace = write_workspace(tmp_path, tools, flows, crm_rate=5, crm_batch=1)
        async with running(workspace) as run, signing_up(tmp_path, per_s=10):
            await until(lambda: run.engine.progress["to_crm"].written >= 40, within_s=20)
            await asyncio.sleep(3)
        crm = await tools.stats("crm")
    analysis = await analysis_of(workspace)
    constraint = analysis.constraint
    assert constraint is not None, verdicts(analysis)
    assert (constraint.integration, constraint.reason, constraint.flow) == (
        "crm",
        Reason.RATE_LIMIT,
        "to_crm",
    ), verdicts(analysis)
    to_crm = next(v for v in analysis.flows if v.flow == "to_crm")
    # The backlog waited the whole run: what the CRM took meanwhile is its observed capacity,
    # and that is its budget (whichever of the two is a hair lower sets the capacity).
    assert to_crm.capacity_bound in {"observed", "rate_limit"}, verdicts(analysis)
    assert to_crm.utilisation is not None and to_crm.utilisation > 1, verdicts(analysis)
    assert to_crm.budget_use is not None and to_crm.budget_use > 1, verdicts(analysis)
    assert "of crm's rate limit" in constraint.evidence, constraint.evidence
    assert "backlog reached" in constraint.evidence and "reached 0" not in constraint.evidence
    advice = " ".join(constraint.advice)
    assert "budget of 5 requests/s" in advice and "ask crm for at least" in advice, advice
    assert "`systems.crm.rate_limit.per_second: " in advice, advice
    assert "`systems.crm.streams.contacts.write.upsert.max_batch: " in advice, advice
    assert crm["rate_limited"] == 0, crm


async def test_the_request_rate_advised_comes_from_the_requests_writes_took(
    tmp_path: Path,
) -> None:
    """Signups reach the CRM at 10/s; its budget is 5 requests/s and its bulk endpoint takes
    one record a request, so a write of 100 changes takes 100 requests and 20 s, and the run
    stops in the middle of one. The requests measured are those of the writes that ended,
    one a change written (and the first sync's listing), so the rate advised is the demand's
    with a quarter to spare. Before, requests sampled mid-write counted without their changes:
    1.6 requests a change, and 19/s advised where 12/s does."""
    make_core(tmp_path, 0)
    async with sandbox(tmp_path, crm=FaultSettings(rate_limit_per_s=100)) as tools:
        flows = [FlowSpec("to_crm", batch=100), FlowSpec("to_email")]
        workspace = write_workspace(tmp_path, tools, flows, crm_rate=5, crm_batch=1)
        async with running(workspace) as run, signing_up(tmp_path, per_s=10):
            progress = run.engine.progress["to_crm"]
            await until(lambda: progress.written >= 30, within_s=20)
            await until_true(lambda: _under_way(tools, progress, 25), within_s=30, every_s=0.2)
        crm = await tools.stats("crm")
    store = await open_store(workspace.state)
    try:
        (measured,) = [
            row
            for row in await store.measurements.totals(since=0, until=time.time() + 60)
            if row["flow"] == "to_crm"
        ]
    finally:
        await store.close()
    written, requests = int(str(measured["changes_out"])), int(str(measured["requests"]))
    assert written <= requests <= written + 3, measured  # one a change, and the listing
    assert crm["requests_total"] > requests + 10, (crm, measured)  # a write was cut short
    analysis = await analysis_of(workspace)
    to_crm = next(v for v in analysis.flows if v.flow == "to_crm")
    assert to_crm.reason is Reason.RATE_LIMIT, verdicts(analysis)
    demand_s = to_crm.demand_per_min / 60
    asked = int(to_crm.advice[0].rsplit("per_second: ", 1)[1].rstrip("`"))
    cost = requests / written
    assert asked == math.ceil(demand_s * cost * 1.25), to_crm.advice
    assert asked <= math.ceil(demand_s * 1.25 * 1.05), to_crm.advice
    max_batch = math.ceil(demand_s * 1.25 / 5)
    assert f"write.upsert.max_batch: {max_batch}`" in to_crm.advice[1], to_crm.advice


async def _under_way(tools: Tools, progress: FlowProgress, requests: int) -> bool:
    """Whether the CRM has answered `requests` more requests than changes were written: a
    write is that far along."""
    answered = (await tools.stats("crm"))["requests_total"]
    return isinstance(answered, int) and answered >= progress.written + requests


async def test_an_outage_prone_tool_is_the_constraint(tmp_path: Path) -> None:
    """The email platform is down 12 s of a 20 s run while signups keep coming: its breaker
    opens, an incident opens, and the email platform is named for its outages."""
    make_core(tmp_path, 100)
    async with sandbox(tmp_path, project=PROJECT) as tools:
        flows = [FlowSpec("to_email"), FlowSpec("leads", interval="2s"), FlowSpec("tasks")]
        workspace = write_workspace(tmp_path, tools, flows)
        async with running(workspace) as run, signing_up(tmp_path, per_s=5):
            down = time.time() + 3
            await tools.faults("email", outages=[{"start": down, "end": down + 12}])
            await asyncio.sleep(20)
            await drained(run.engine)
    analysis = await analysis_of(workspace)
    constraint = analysis.constraint
    assert constraint is not None, verdicts(analysis)
    assert (constraint.integration, constraint.reason, constraint.flow) == (
        "email",
        Reason.OUTAGES,
        "to_email",
    ), verdicts(analysis)
    to_email = next(v for v in analysis.flows if v.flow == "to_email")
    assert to_email.downtime_share > 0.05, verdicts(analysis)
    assert constraint.incidents >= 1
    assert "breaker open" in constraint.evidence and "add a fallback" in constraint.advice[0]
    others = [v for v in analysis.flows if v.integration != "email"]
    assert all(v.downtime_share == 0 and v.reason is not Reason.OUTAGES for v in others)


async def test_poison_records_are_the_constraint_and_share_a_field(tmp_path: Path) -> None:
    """Every tenth signup has a mistyped email, which the email platform refuses: 10% of the
    flow's changes become dead letters, against a 1% error budget, and the advice names the
    field they share."""
    make_core(tmp_path, 300, bad_every=10)
    async with sandbox(tmp_path, project=PROJECT) as tools:
        flows = [FlowSpec("to_email", batch=100), FlowSpec("leads"), FlowSpec("tasks")]
        workspace = write_workspace(tmp_path, tools, flows)
        async with running(workspace) as run:
            progress = run.engine.progress["to_email"]
            await until(lambda: progress.written + progress.dead_lettered >= 300, within_s=20)
            await asyncio.sleep(1)
    analysis = await analysis_of(workspace)
    constraint = analysis.constraint
    assert constraint is not None, verdicts(analysis)
    assert (constraint.integration, constraint.reason, constraint.flow) == (
        "email",
        Reason.POISON,
        "to_email",
    ), verdicts(analysis)
    to_email = next(v for v in analysis.flows if v.flow == "to_email")
    # 30 of 300, and the newest signup once more: the first incremental read starts at the
    # full read's high-water mark, inclusive.
    assert to_email.failure_share == pytest.approx(0.1, abs=0.01), verdicts(analysis)
    assert "(10%); most name field email" in constraint.evidence, constraint.evidence
    assert "share field email" in constraint.advice[0], constraint.advice
    assert "syncwell dlq replay --flow to_email" in constraint.advice[1]


async def test_a_flow_at_60_percent_of_its_budget_breaks_only_at_doubled_volume(
    tmp_path: Path,
) -> None:
    """Signups reach the CRM at 6/s for 15 s, one request each, against a budget of 10
    requests/s: they need about 60% of the CRM's rate limit, so the analysis names no
    constraint, and with volume=2x it names the CRM for its rate limit."""
    make_core(tmp_path, 0)
    async with sandbox(tmp_path, crm=FaultSettings(rate_limit_per_s=20)) as tools:
        flows = [FlowSpec("to_crm", batch=20), FlowSpec("to_email")]
        workspace = write_workspace(tmp_path, tools, flows, crm_rate=10, crm_batch=1)
        async with running(workspace, measure_every_s=1.0) as run:
            async with signing_up(tmp_path, per_s=6):
                await asyncio.sleep(15)
            await drained(run.engine)
    now = await analysis_of(workspace, at=run.stopped)
    assert now.constraint is None, verdicts(now)
    crm = next(v for v in now.ranking if v.integration == "crm")
    assert crm.budget_use is not None and 0.5 < crm.budget_use < 0.8, verdicts(now)
    doubled = await analysis_of(workspace, at=run.stopped, what_if=["volume=2x"])
    constraint = doubled.constraint
    assert constraint is not None, verdicts(doubled)
    assert (constraint.integration, constraint.reason, constraint.flow) == (
        "crm",
        Reason.RATE_LIMIT,
        "to_crm",
    ), verdicts(doubled)
    assert doubled.what_if == ("volume=2x",)
    assert constraint.budget_use == pytest.approx(2 * crm.budget_use)
    assert [v.integration for v in doubled.ranking if v.breaching] == ["crm"], verdicts(doubled)


async def test_the_constraint_moves_to_the_next_integration_once_the_first_is_fixed(
    tmp_path: Path, pg_state_url: str
) -> None:
    """At first the email platform was down half the time and the CRM's leads were polled
    every 2 minutes against a 30-second SLO: the outage was the constraint. Then the email
    platform is up, and the analysis of the second run names the CRM's poll interval; the
    kept analyses (in PostgreSQL) show the move."""
    make_core(tmp_path, 100)
    flows = [FlowSpec("to_email"), FlowSpec("leads", interval="2m", slo="30s")]
    async with sandbox(tmp_path) as tools:
        workspace = write_workspace(tmp_path, tools, flows, state=pg_state_url)
        async with running(workspace) as first, signing_up(tmp_path, per_s=5):
            down = time.time() + 2
            await tools.faults("email", outages=[{"start": down, "end": down + 10}])
            await asyncio.sleep(16)
            await drained(first.engine)
        before = await analysis_of(workspace, at=first.stopped)
        # The vendor fixed the email platform; the workspace is written again, unchanged.
        (await tools.client.delete(f"{tools.url('email')}/_sandbox/faults")).raise_for_status()
        workspace = write_workspace(tmp_path, tools, flows, state=pg_state_url)
        async with running(workspace) as second, signing_up(tmp_path, per_s=5):
            await asyncio.sleep(6)
            await drained(second.engine)
    after = await analysis_of(
        workspace, at=second.stopped, window_s=second.stopped - second.started
    )
    assert before.constraint is not None, verdicts(before)
    assert (before.constraint.integration, before.constraint.reason) == (
        "email",
        Reason.OUTAGES,
    ), verdicts(before)
    assert [v.integration for v in before.ranking[:2]] == ["email", "crm"], verdicts(before)
    assert after.constraint is not None, verdicts(after)
    assert (after.constraint.integration, after.constraint.reason) == (
        "crm",
        Reason.POLL_INTERVAL,
    ), verdicts(after)
    email = next(v for v in after.ranking if v.integration == "email")
    assert not email.breaching, verdicts(after)
    store = await open_store(workspace.state)
    try:
        moved = moves(await store.analyses.list())
    finally:
        await store.close()
    assert [(m.before, m.before_reason, m.after, m.after_reason) for m in moved] == [
        (None, None, "email", "outages"),
        ("email", "outages", "crm", "poll_interval"),
    ]
    assert "email is now within its SLO" in moved[1].why, moved[1].why
