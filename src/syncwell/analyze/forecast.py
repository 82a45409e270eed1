"""When an integration saturates if its volume keeps its trend.

The trend is a least-squares line through the integration's changes in per day over the last
weeks, read as growth relative to today's level of that line. Demand then grows by that share
each day, and the integration saturates when its most loaded flow's demand reaches its
capacity, or when its flows' requests reach the rate-limit budget: after (1/u - 1)/g days for
a utilisation u and a daily growth g. A line is plainer than a fitted exponential and, over a
few weeks, as good: the forecast is a warning, not a promise.
"""

from __future__ import annotations

from collections.abc import Sequence

from syncwell.analyze.facts import FlowFacts
from syncwell.analyze.trend import MIN_DAYS, Trend
from syncwell.analyze.verdict import FlowVerdict, Forecast
from syncwell.analyze.words import percent

__all__ = ["forecast"]


_HORIZON_DAYS = 365


def forecast(facts: Sequence[FlowFacts], verdicts: Sequence[FlowVerdict]) -> Forecast:
    """The integration's forecast, from its flows' daily volume and their load now."""
    line = Trend.combined(f.trend for f in facts)
    growth = None if line is None else line.growth
    if growth is None:
        return Forecast(None, None, "", f"needs {MIN_DAYS} whole days of measurements")
    weekly = growth * 7
    trend = f"{'+' if weekly >= 0 else '-'}{percent(abs(weekly))}/week"
    budget = "rate-limit budget"
    limits = [
        (v.utilisation, budget if v.capacity_bound == "rate_limit" else "capacity")
        for v in verdicts
        if v.utilisation
    ]
    limits += [(v.budget_use, budget) for v in verdicts if v.budget_use]
    if growth <= 0 or not limits:
        return Forecast(weekly, None, "", f"at {trend}, no saturation ahead")
    utilisation, limit = max(limits, key=lambda item: item[0] or 0.0)
    assert utilisation is not None
    if utilisation >= 1:
        return Forecast(weekly, 0.0, limit, f"already past its {limit}")
    days_left = (1 / utilisation - 1) / growth
    if days_left > _HORIZON_DAYS:
        return Forecast(weekly, None, limit, f"at {trend}, no saturation within a year")
    sentence = f"at {trend}, saturates its {limit} in {days_left:.0f} days"
    return Forecast(weekly, days_left, limit, sentence)
