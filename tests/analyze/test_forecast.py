"""The forecast reads the volume trend and says when demand meets capacity."""

from __future__ import annotations

import pytest

from syncwell.analyze import judge
from syncwell.analyze.trend import Trend
from tests.analyze.kit import facts_of, measured, tools_workspace

FLOWS = {"tasks": "core -> project, interval: 1m, batch_size: 100"}


def test_growth_is_relative_to_the_trend_line_today() -> None:
    """100, 110, ..., 200 over 11 days: +10 a day on a line worth 200 today, 5% a day."""
    trend = Trend.from_days([100.0 + 10 * day for day in range(11)])
    assert trend is not None and trend.growth == pytest.approx(0.05)
    assert Trend.from_days([5.0, 5.0]) is None  # too short to call a trend


def test_saturation_day_follows_from_growth_and_utilisation() -> None:
    """At 50% of capacity and +5%/day, demand doubles (meets capacity) after (1/0.5 - 1) /
    0.05 = 20 days."""
    days = tuple(100.0 + 10 * day for day in range(11))
    tasks = measured(per_minute=3000, batch=100, write_ms=1000)  # 3,000 of 6,000 a minute
    analysis = judge(facts_of(tools_workspace(FLOWS), {"tasks": tasks}, daily={"tasks": days}))
    (project,) = analysis.ranking
    assert project.forecast.days_to_saturation == pytest.approx(20.0)
    assert project.forecast.growth_per_week == pytest.approx(0.35)
    assert project.forecast.sentence == "at +35%/week, saturates its capacity in 20 days"


def test_flat_volume_saturates_never() -> None:
    """No growth, no saturation date."""
    analysis = judge(
        facts_of(tools_workspace(FLOWS), {}, daily={"tasks": (100.0, 100.0, 100.0, 100.0)})
    )
    assert analysis.ranking[0].forecast.days_to_saturation is None
    assert "no saturation ahead" in analysis.ranking[0].forecast.sentence


def test_the_rate_limit_budget_can_saturate_first() -> None:
    """A budget 80% used saturates before a capacity 10% used."""
    days = tuple(100.0 + 10 * day for day in range(11))
    tasks = measured(per_minute=480, requests=480 * 60)  # 480/min of a 10/s = 600/min budget
    workspace = tools_workspace(FLOWS, rate_limits={"project": 10})
    analysis = judge(facts_of(workspace, {"tasks": tasks}, daily={"tasks": days}))
    forecast = analysis.ranking[0].forecast
    assert forecast.limit == "rate-limit budget"
    assert forecast.days_to_saturation == pytest.approx((1 / 0.8 - 1) / 0.05)
