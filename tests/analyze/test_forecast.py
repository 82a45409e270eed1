"""The forecast fits growth to the volume trend, as a line or compounding, whichever fits the
days better, and says when demand meets capacity, with a range."""

from __future__ import annotations

import math
import random

import pytest

from syncwell.analyze import Forecast, judge
from syncwell.analyze.trend import Trend
from tests.analyze.kit import facts_of, measured, tools_workspace

FLOWS = {"tasks": "core -> project, interval: 1m, batch_size: 100"}


def _compounding(weekly: float, noise: float, seed: int, days: int = 28) -> list[float]:
    """`days` of volume growing `weekly` a week, compounding, to 1,000 a day on the last."""
    rng = random.Random(seed)
    return [
        1000 * (1 + weekly) ** ((day - days + 1) / 7) * (1 + rng.gauss(0, noise))
        for day in range(days)
    ]


def _linear(first: float, last: float, noise: float, seed: int, days: int = 28) -> list[float]:
    """`days` of volume on a straight line from `first` to `last`, with noise of `noise`
    times the last day's volume."""
    rng = random.Random(seed)
    step = (last - first) / (days - 1)
    return [first + step * day + rng.gauss(0, noise * last) for day in range(days)]


def _project_forecast(days: list[float], per_minute: float = 3000) -> Forecast:
    """The project tool's forecast with `days` of volume, `tasks` at `per_minute` of the
    6,000 changes a minute it can take."""
    tasks = measured(per_minute=per_minute, batch=100, write_ms=1000)
    facts = facts_of(tools_workspace(FLOWS), {"tasks": tasks}, daily={"tasks": tuple(days)})
    project = next(v for v in judge(facts).ranking if v.integration == "project")
    return project.forecast


def test_growth_is_relative_to_the_trend_line_today() -> None:
    """100, 110, ..., 200 over 11 days: +10 a day on a line worth 200 today, 5% a day."""
    trend = Trend.from_days([100.0 + 10 * day for day in range(11)])
    assert trend is not None
    fit = trend.fit()
    assert fit is not None and fit.model == "linear"
    assert fit.rate == pytest.approx(0.05)
    assert (fit.low, fit.high) == pytest.approx((0.05, 0.05))  # an exact line: no range


def test_linear_growth_stays_linear() -> None:
    """Volume that doubles over four weeks in a straight line, with 3% noise, is read as a
    line, and saturates when the line says: from 50% of capacity at +500/day on 1,000 a
    day, after 1,000 / (500/27) = 54 days."""
    forecast = _project_forecast(_linear(500, 1000, 0.03, seed=4))
    assert forecast.model == "linear", forecast.sentence
    assert forecast.days_to_saturation == pytest.approx(54, abs=5), forecast.sentence
    assert forecast.days_earliest is not None and forecast.days_latest is not None
    assert forecast.days_earliest <= 54 <= forecast.days_latest, forecast.sentence


def test_compounding_growth_is_found_as_compounding() -> None:
    """15% a week, compounding, 3% noise, at 50% of capacity: read as compounding, about
    15% a week, saturating in about ln(2) / (ln(1.15) / 7) = 34.7 days, within its range. A
    straight line through the same days reads about 11% a week and some 60 days (the fault
    of issue 13)."""
    days = _compounding(0.15, 0.03, seed=13)
    forecast = _project_forecast(days)
    assert forecast.model == "compounding", forecast.sentence
    assert forecast.growth_per_week == pytest.approx(0.15, abs=0.02), forecast.sentence
    truth = math.log(2) / (math.log(1.15) / 7)
    assert forecast.days_to_saturation == pytest.approx(truth, abs=3), forecast.sentence
    assert forecast.days_earliest is not None and forecast.days_latest is not None
    assert forecast.days_earliest <= truth <= forecast.days_latest, forecast.sentence
    assert "(compounding)" in forecast.sentence
    assert forecast.sentence.startswith("at +1"), forecast.sentence


def test_noise_gives_a_range_that_widens_with_it() -> None:
    """Exact days give one number; noisy days give a range around it, wider for more noise;
    the sentence shows it."""
    exact = _project_forecast(_compounding(0.15, 0.0, seed=1))
    assert exact.days_earliest == pytest.approx(exact.days_to_saturation)
    assert exact.days_latest == pytest.approx(exact.days_to_saturation)
    assert exact.sentence.endswith(f"in {exact.days_to_saturation:.0f} days"), exact.sentence
    spans = []
    for noise in (0.02, 0.08):
        noisy = _project_forecast(_compounding(0.15, noise, seed=2))
        assert noisy.days_to_saturation is not None
        assert noisy.days_earliest is not None and noisy.days_latest is not None
        assert noisy.days_earliest < noisy.days_to_saturation < noisy.days_latest
        assert f"({noisy.days_earliest:.0f}-{noisy.days_latest:.0f})" in noisy.sentence
        spans.append(noisy.days_latest - noisy.days_earliest)
    assert spans[0] < spans[1]


def test_a_range_that_reaches_past_a_year_says_so() -> None:
    """Slow growth in noise, at a quarter of capacity: saturation is months away, and the
    slow end of its range is past a year."""
    forecast = _project_forecast(_linear(800, 1000, 0.03, seed=0), per_minute=1500)
    assert forecast.days_to_saturation is not None and forecast.days_latest is None
    assert forecast.days_earliest is not None
    assert forecast.days_earliest < forecast.days_to_saturation < 365
    assert f"({forecast.days_earliest:.0f} days to more than a year)" in forecast.sentence


def test_too_little_data_says_so() -> None:
    """Two days make no trend; five make one, but too short to tell compounding growth from
    a line, so it is a line and says why."""
    none = _project_forecast([100.0, 110.0])
    assert none.growth_per_week is None and none.days_to_saturation is None
    assert none.sentence == "needs 3 whole days of measurements"
    short = _project_forecast(_compounding(0.15, 0.0, seed=1, days=5))
    assert short.model == "linear"
    assert "5 days are too few to tell whether it compounds" in short.sentence


def test_models_that_fit_almost_as_well_give_a_range_over_both() -> None:
    """Gentle growth with noise fits a line and compounding alike: the range spans what
    each says, and the sentence says the days cannot tell them apart."""
    for seed in range(40):
        trend = Trend.from_days(_compounding(0.04, 0.05, seed=seed))
        assert trend is not None
        fit = trend.fit()
        assert fit is not None
        if fit.rival is not None:
            break
    else:
        pytest.fail("no close call in 40 seeds")
    earliest, latest = fit.span(2.0)
    own = (fit.days_until(2.0, fit.high), fit.days_until(2.0, fit.low))
    other = (fit.rival.days_until(2.0, fit.rival.high), fit.rival.days_until(2.0, fit.rival.low))
    assert earliest == min(d for d in (*own[:1], *other[:1]) if d is not None)
    if latest is not None:
        assert latest == max(d for d in (own[1], other[1]) if d is not None)
    forecast = _project_forecast(_compounding(0.04, 0.05, seed=seed))
    assert "the range spans both" in forecast.sentence, forecast.sentence


def test_an_integration_grows_as_its_flows_summed_over_the_days_both_were_measured() -> None:
    """Two flows, one compounding and one flat, add up day by day; a day one of them was
    not measured is left out of the sum."""
    growing = _compounding(0.15, 0.0, seed=1)
    flat = [1000.0] * 28
    flat[10] = math.nan
    summed = Trend.combined([Trend.from_days(growing), Trend.from_days(flat)])
    assert summed is not None and summed.days == 27
    assert dict(summed.points)[27.0] == pytest.approx(2000.0)
    assert 10.0 not in dict(summed.points)


def test_saturation_day_follows_from_growth_and_utilisation() -> None:
    """At 50% of capacity and +5%/day on a line, demand doubles (meets capacity) after
    (1/0.5 - 1) / 0.05 = 20 days."""
    days = tuple(100.0 + 10 * day for day in range(11))
    tasks = measured(per_minute=3000, batch=100, write_ms=1000)  # 3,000 of 6,000 a minute
    analysis = judge(facts_of(tools_workspace(FLOWS), {"tasks": tasks}, daily={"tasks": days}))
    project = next(v for v in analysis.ranking if v.integration == "project")
    assert project.forecast.days_to_saturation == pytest.approx(20.0)
    assert project.forecast.growth_per_week == pytest.approx(0.35)
    assert project.forecast.sentence == "at +35%/week (linear), saturates its capacity in 20 days"


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
