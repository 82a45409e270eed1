"""The planted-truth scenarios (issue 13): real engine runs against the sandbox's tools, each
with one cause planted and its right answer (the constraint, the reason, or none) written
down before the analysis was changed. test_planted.py asserts each; score.py scores the set.

Time is compressed as in test_constraint.py: intervals and SLOs in seconds, measurements
flushed every second, an analysis of the last 10 minutes. Only the growth scenario, which
needs four weeks, writes its measurements itself (through the engine's own recorder and the
store).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from syncwell.analyze import Analysis
from syncwell.sandbox import FaultSettings, PeriodicOutage
from syncwell.store import open_store
from tests.scenarios.constraintkit import analysis_of, drained, running, signing_up
from tests.scenarios.plantedgrade import Expected
from tests.scenarios.plantedkit import (
    Step,
    hooked,
    make_core,
    pg_core,
    record_hour,
    sandboxed,
    subscribe,
    unsubscribe,
    working,
    write_workspace,
)
from tests.waiting import until

__all__ = ["HELD_OUT", "SCENARIOS", "Planted"]

PROJECT = FaultSettings(rate_limit_per_s=5, latency_ms=20)
"""The project tool, a little slow but up (the sandbox's default also goes down every 5m)."""
_SEEDED = {"leads": 20, "tasks": 20}
"""Records each tool holds at the start: every run begins with a first sync, as a new
user's does."""


async def healthy_but_noisy(root: Path) -> Analysis:
    """Every flow well within a 15-minute SLO while the CRM answers 5% of requests 429, the
    email platform and the project tool 10% with a 5xx (the share of calls the engine's retry
    budget allows), and the CRM sends 10% of its webhooks twice: retries, nothing late or
    lost. Flows read often (every 0.1 s), so that the noise is dozens of failed requests, not
    one or two."""
    make_core(root, 100)
    async with sandboxed(
        crm=FaultSettings(throttle_rate=0.05, duplicate_webhook_rate=0.1),
        email=FaultSettings(error_rate=0.1),
        project=FaultSettings(error_rate=0.1, latency_ms=20),
        **_SEEDED,
    ) as tools:
        steps = [
            Step("to_crm", interval="0.1s", batch=20),
            Step("to_email", interval="0.1s", batch=20),
            Step("leads", mode="realtime", interval="5s"),
            Step("tasks", interval="0.1s"),
        ]
        # Healthy means room to spare: at the CRM's default 10 requests/s, to_crm needed
        # 90-101% of the budget from run to run, an edge where "rate_limit" is not wrong.
        workspace = write_workspace(
            root, tools, steps, crm_hooks=True, crm_rate=40, project_rate=20
        )
        async with running(workspace) as run, hooked(run) as port:
            await subscribe(tools, port)
            async with signing_up(root, per_s=10), working(tools, leads_per_s=2, tasks_per_s=5):
                await asyncio.sleep(8)
            await drained(run.engine)
    return await analysis_of(workspace)


async def source_down(root: Path) -> Analysis:
    """The CRM, read by `leads`, is down (503) the last second of every five: 20% of the
    time. The email platform and the project tool are healthy."""
    make_core(root, 100)
    crm = FaultSettings(outages=(PeriodicOutage(every_s=5, for_s=1),))
    async with sandboxed(crm=crm, project=PROJECT, **_SEEDED) as tools:
        steps = [Step("leads"), Step("to_email"), Step("tasks", interval="2s")]
        workspace = write_workspace(root, tools, steps)
        async with running(workspace) as run:
            async with signing_up(root, per_s=2), working(tools, leads_per_s=2):
                await asyncio.sleep(10)
            await drained(run.engine)
    return await analysis_of(workspace)


async def webhooks_dropped(root: Path) -> Analysis:
    """`leads` is realtime, reconciled every 5 s against a 2-second freshness SLO. A second
    and a half in, the CRM silently stops sending its webhooks: the leads made after that
    wait for a reconciliation (up to 5 s) before syncwell even reads them."""
    make_core(root, 100)
    async with sandboxed(project=PROJECT, **_SEEDED) as tools:
        steps = [
            Step("leads", mode="realtime", interval="5s", slo="2s"),
            Step("to_email"),
            Step("tasks", interval="2s"),
        ]
        workspace = write_workspace(root, tools, steps, crm_hooks=True)
        async with running(workspace) as run, hooked(run) as port:
            subscription = await subscribe(tools, port)
            async with working(tools, leads_per_s=2):
                await asyncio.sleep(1.5)
                await unsubscribe(tools, subscription)
                await asyncio.sleep(9)
            await drained(run.engine)
    return await analysis_of(workspace)


async def slow_core(root: Path) -> Analysis:
    """The core (PostgreSQL) takes 2 s to commit each batch written into it, on both flows
    into it, against 3-second freshness SLOs; the CRM and the project tool answer at once."""
    async with (
        pg_core(write_s=2.0) as schema,
        sandboxed(**_SEEDED) as tools,
    ):
        steps = [Step("leads", slo="3s"), Step("tasks", slo="3s")]
        workspace = write_workspace(root, tools, steps, core_schema=schema)
        async with running(workspace), working(tools, leads_per_s=2, tasks_per_s=1):
            await asyncio.sleep(10)
    return await analysis_of(workspace)


async def manual_step(root: Path) -> Analysis:
    """Each new signup needs an onboarding task in the project tool, which a person makes by
    hand once a day (20 minutes of work), against a 1-hour freshness SLO; the automated
    flows are healthy."""
    make_core(root, 100)
    async with sandboxed(project=PROJECT, **_SEEDED) as tools:
        steps = [
            Step("to_crm"),
            Step("to_email"),
            Step(
                "onboarding",
                mode="manual",
                interval=None,
                slo="1h",
                manual="{every: 1d, takes: 20m}",
            ),
        ]
        workspace = write_workspace(root, tools, steps)
        async with running(workspace) as run:
            async with signing_up(root, per_s=2):
                await asyncio.sleep(6)
            await drained(run.engine)
    return await analysis_of(workspace)


_DAY = 86400
_WEEKLY = 1.15
"""Compounding growth a week: 37 days from 47.8% of capacity to saturation (a straight line
through the same four weeks reads about 11% a week, and 69 days)."""


async def compounding_growth(root: Path) -> Analysis:
    """Four weeks of signups reaching the CRM that grew 15% a week, compounding (with 3%
    day-to-day noise), to 100 a minute today, at 47.8% of the CRM's capacity; the email
    platform flat at 60% of its capacity. Nothing breaks now."""
    workspace = write_workspace(root, None, [Step("to_crm"), Step("to_email")])
    today = int(time.time() // _DAY * _DAY)
    noise = random.Random(13)
    store = await open_store(workspace.state)
    try:
        for days_ago in range(28, 0, -1):
            crm = 100 * _WEEKLY ** (-days_ago / 7) * (1 + noise.gauss(0, 0.03))
            flows = {"to_crm": (round(crm), 20.0), "to_email": (60, 30.0)}
            await record_hour(store, today - days_ago * _DAY + 12 * 3600, flows)
        await record_hour(store, today + 12 * 3600, {"to_crm": (100, 28.7), "to_email": (60, 36.0)})
    finally:
        await store.close()
    return await analysis_of(workspace, window_s=3600, at=today + 13 * 3600)


async def rate_limited_tool(root: Path) -> Analysis:
    """The CRM answers half of all requests 429 with a Retry-After of 2 s, whatever their
    rate, while signups reach it at 3 a second against a 2-second freshness SLO (polled
    every 0.2 s): the waits it asks for make changes late."""
    make_core(root, 100)
    crm = FaultSettings(throttle_rate=0.5, throttle_s=2)
    async with sandboxed(crm=crm, project=PROJECT, **_SEEDED) as tools:
        steps = [
            Step("to_crm", interval="0.2s", slo="2s", batch=50),
            Step("to_email"),
            Step("tasks", interval="2s"),
        ]
        workspace = write_workspace(root, tools, steps)
        async with running(workspace) as run:
            async with signing_up(root, per_s=3):
                await asyncio.sleep(8)
            await drained(run.engine, within_s=30)
    return await analysis_of(workspace)


async def configuration_mistake(root: Path) -> Analysis:
    """The core's contacts table, which `to_email` reads, lets its key (email) be NULL: the
    user's mistake, which syncwell refuses to sync (a record without a key has no identity).
    The CRM and the project tool are healthy."""
    make_core(root, 100, key_allows_null=True)
    async with sandboxed(project=PROJECT, **_SEEDED) as tools:
        steps = [Step("to_email"), Step("leads", interval="2s"), Step("tasks", interval="2s")]
        workspace = write_workspace(root, tools, steps)
        async with running(workspace), working(tools, leads_per_s=1):
            await asyncio.sleep(6)
    return await analysis_of(workspace)


async def destination_down(root: Path) -> Analysis:
    """Held out (written after the fixes, never tuned on): the email platform, written by
    `to_email` every 0.2 s, answers 503 the last second of every four (down 25%); each write
    is retried, so most get through and the breaker may never open. The CRM and the project
    tool are healthy."""
    make_core(root, 100)
    email = FaultSettings(outages=(PeriodicOutage(every_s=4, for_s=1),))
    async with sandboxed(email=email, project=PROJECT, **_SEEDED) as tools:
        steps = [Step("to_email", interval="0.2s"), Step("leads"), Step("tasks", interval="2s")]
        workspace = write_workspace(root, tools, steps)
        async with running(workspace) as run:
            async with signing_up(root, per_s=5), working(tools, leads_per_s=1):
                await asyncio.sleep(10)
            await drained(run.engine)
    return await analysis_of(workspace)


async def rate_limited_source(root: Path) -> Analysis:
    """Held out: the CRM answers half of all requests 429 with a Retry-After of 3 s, and it is
    a source here: `leads` reads it every 0.2 s against a 2-second SLO while two leads a
    second are made. The waits it asks for make leads late. As first written (see
    docs/constraint.md), the run stopped once the journal was empty, with most leads still
    unread in the CRM, and the Retry-After was 2 s, the SLO itself, so a lead read after one
    429 was late or not by milliseconds, and leads made during a slow first sync joined it
    (a backfill is never late): now the leads are made once the first sync is done, the run
    goes on 10 s after the last one, as a running engine would, and each wait passes the
    SLO."""
    make_core(root, 100)
    crm = FaultSettings(throttle_rate=0.5, throttle_s=3)
    async with sandboxed(crm=crm, project=PROJECT, **_SEEDED) as tools:
        steps = [
            Step("leads", interval="0.2s", slo="2s"),
            Step("to_email"),
            Step("tasks", interval="2s"),
        ]
        workspace = write_workspace(root, tools, steps)
        async with running(workspace) as run:
            # The leads made during the first sync are in it: a backfill, never late.
            leads = run.engine.progress["leads"]
            await until(lambda: leads.written >= _SEEDED["leads"], within_s=60)
            async with signing_up(root, per_s=2), working(tools, leads_per_s=2):
                await asyncio.sleep(8)
            await asyncio.sleep(10)
            await drained(run.engine, within_s=30)
    return await analysis_of(workspace)


async def healthy_but_slow(root: Path) -> Analysis:
    """Held out: every tool slow but up — the CRM answers after 200 ms (jitter 150 ms), the
    email platform after 300 ms, the project tool after 400 ms and 5% of the time with a 5xx;
    flows read every 0.5 s against 15-minute SLOs, so every change arrives in seconds."""
    make_core(root, 100)
    async with sandboxed(
        crm=FaultSettings(latency_ms=200, latency_jitter_ms=150),
        email=FaultSettings(latency_ms=300),
        project=FaultSettings(latency_ms=400, error_rate=0.05, rate_limit_per_s=20),
        **_SEEDED,
    ) as tools:
        steps = [
            Step("to_crm", interval="0.5s"),
            Step("to_email", interval="0.5s"),
            Step("leads", interval="0.5s"),
            Step("tasks", interval="0.5s"),
        ]
        workspace = write_workspace(root, tools, steps, project_rate=10)
        async with running(workspace) as run:
            async with signing_up(root, per_s=3), working(tools, leads_per_s=1, tasks_per_s=1):
                await asyncio.sleep(8)
            await drained(run.engine)
    return await analysis_of(workspace)


@dataclass(frozen=True)
class Planted:
    """One scenario: its name, what it plants, the right answer, and how to run it."""

    name: str
    plants: str
    expected: Expected
    run: Callable[[Path], Awaitable[Analysis]]


SCENARIOS = (
    Planted(
        "healthy_noisy",
        "5% 429s (CRM), 10% 5xx (email, projects), 10% duplicate webhooks; within SLO",
        Expected(None),
        healthy_but_noisy,
    ),
    Planted(
        "source_down",
        "CRM (a source) down 1 s of every 5 (20%)",
        Expected("crm", frozenset({"outages"})),
        source_down,
    ),
    Planted(
        "webhooks_dropped",
        "CRM stops sending webhooks; reconciliation every 5 s vs a 2 s SLO",
        Expected("crm", frozenset({"freshness", "missed_webhooks"})),
        webhooks_dropped,
    ),
    Planted(
        "slow_core",
        "core (PostgreSQL) takes 2 s a batch on every flow into it, 3 s SLO",
        Expected("core", frozenset({"capacity", "slow_writes"})),
        slow_core,
    ),
    Planted(
        "manual_step",
        "manual flow core -> projects, done once a day (20 min), 1 h SLO",
        Expected("projects", frozenset({"manual"})),
        manual_step,
    ),
    Planted(
        "compounding_growth",
        "CRM volume +15%/week compounding, at 48% of capacity today",
        Expected("crm", forecast_days=(31.0, 43.0)),
        compounding_growth,
    ),
    Planted(
        "rate_limited_tool",
        "CRM answers 50% of requests 429 (Retry-After 2 s) whatever the rate, 2 s SLO",
        Expected("crm", frozenset({"rate_limit"})),
        rate_limited_tool,
    ),
    Planted(
        "configuration_mistake",
        "to_email's source key (core contacts.email) allows NULL",
        Expected("email", frozenset({"configuration"})),
        configuration_mistake,
    ),
)
"""The set, in the order of issue 13's list."""

HELD_OUT = (
    Planted(
        "destination_down",
        "email platform (a destination) down 1 s of every 4 (25%), writes retried",
        Expected("email", frozenset({"outages"})),
        destination_down,
    ),
    Planted(
        "rate_limited_source",
        "CRM (a source) answers 50% of requests 429 (Retry-After 3 s), 2 s SLO",
        Expected("crm", frozenset({"rate_limit"})),
        rate_limited_source,
    ),
    Planted(
        "healthy_slow",
        "every tool slow (200-400 ms an answer), 5% 5xx from projects; within SLO",
        Expected(None),
        healthy_but_slow,
    ),
)
"""Scenarios written after issue 13's fixes and run against them as they stood, never tuned
on: the answers are written down here before the first run."""
