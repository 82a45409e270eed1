"""Randomised workspaces: flows with random demands, capacities and rate limits. The test
computes the true bottleneck on its own (the system whose flow has the largest demand over
its capacity, when that passes 1) and the analysis must name the same one. A flow's writes
are its destination's: into the core, the core's (issue 13, point 4), unless the tool's
rate-limit budget holds it lower."""

from __future__ import annotations

import random

import pytest

from syncwell.analyze import judge
from tests.analyze.kit import facts_of, tools_workspace

MINUTES = 60


def _scenario(rng: random.Random) -> tuple[dict[str, str], dict[str, float], dict, dict]:
    flows: dict[str, str] = {}
    limits: dict[str, float] = {}
    rows: dict[str, dict[str, object]] = {}
    truth: dict[str, float] = {}
    for t in range(rng.randint(2, 8)):
        tool = f"tool{t}"
        count = rng.randint(1, 3)
        limited = count == 1 and rng.random() < 0.4  # one flow: its budget is its own
        if limited:
            limits[tool] = round(rng.uniform(1, 30), 2)
        for n in range(count):
            name = f"{tool}_f{n}"
            route = f"core -> {tool}" if rng.random() < 0.5 else f"{tool} -> core"
            flows[name] = f"{route}, interval: 30s, slo: {{freshness: 1h, success_rate: 0.9}}"
            demand = rng.uniform(10, 1500)
            writes = rng.uniform(100, 2000)
            capacity = min(writes, limits[tool] * 60) if limited else writes
            rows[name] = _measured(demand, writes, capacity)
            # Demand past the tool's budget (or at 90% of it while work piles up, as the
            # analysis reads a budget near full) is the tool's, whatever the core could take.
            budget_binds = limited and demand >= 0.9 * limits[tool] * 60
            system = "core" if route.endswith("core") and not budget_binds else tool
            truth[system] = max(truth.get(system, 0.0), demand / capacity)
    return flows, limits, rows, truth


def _measured(demand: float, writes: float, capacity: float) -> dict[str, object]:
    """An hour of a flow that receives `demand`/min, whose writes take 1/`writes` min each
    change, and that a budget may hold to `capacity`/min."""
    saturated = demand > capacity
    out = round((capacity if saturated else demand) * MINUTES)
    return {
        "measured_s": MINUTES * 60.0,
        "changes_in": round(demand * MINUTES),
        "changes_out": out,
        "batches": max(1, out // 50),
        "attempts": max(1, out // 50),
        "latency_sum_ms": out * 60_000 / writes,
        "requests": out,
        "busy_s": MINUTES * 60.0 if saturated else 0.0,
        "out_busy": out if saturated else 0,
        "backlog_max": round((demand - capacity) * MINUTES) if saturated else 0,
    }


@pytest.mark.parametrize("seed", range(300))
def test_the_named_constraint_is_the_true_bottleneck(seed: int) -> None:
    """For 300 random workspaces, the constraint is the integration with the largest
    utilisation above 1, and none when every utilisation is at most 1."""
    rng = random.Random(seed)
    flows, limits, rows, truth = _scenario(rng)
    workspace = tools_workspace(flows, rate_limits=limits)
    analysis = judge(facts_of(workspace, rows))
    worst = max(truth, key=truth.__getitem__)
    expected = worst if truth[worst] > 1.0 + 1e-6 else None
    named = analysis.constraint.integration if analysis.constraint else None
    if abs(truth[worst] - 1.0) < 0.01:  # rounding to whole changes decides a tie with 1
        pytest.skip("the bottleneck sits at exactly its capacity")
    assert named == expected, (truth, analysis.summary)
    if expected is not None:
        assert analysis.constraint is not None
        assert analysis.constraint.utilisation == pytest.approx(truth[worst], rel=0.01)
