"""When an integration saturates if its volume keeps its trend.

The trend is its flows' changes in per day over the last four weeks, added up, with the growth
fitted to them as a line or as compounding growth, whichever fits better (trend.py). The
integration saturates when its most loaded flow's demand reaches its capacity, or when its
flows' requests reach the rate-limit budget: for a utilisation u, when volume is 1/u times
today's. That is after (1/u - 1)/g days for a line growing g a day relative to today, and after
ln(1/u)/β days for growth compounding at e^β - 1 a day. The range is the days at either end of
the growth's 90% interval. The forecast is a warning, not a promise.
"""

from __future__ import annotations

from collections.abc import Sequence

from syncwell.analyze.facts import FlowFacts
from syncwell.analyze.trend import MIN_DAYS, Fit, Trend
from syncwell.analyze.verdict import FlowVerdict, Forecast
from syncwell.analyze.words import percent

__all__ = ["forecast"]


_HORIZON_DAYS = 365


def forecast(facts: Sequence[FlowFacts], verdicts: Sequence[FlowVerdict]) -> Forecast:
    """The integration's forecast, from its flows' daily volume and their load now."""
    trend = Trend.combined(f.trend for f in facts)
    fit = None if trend is None else trend.fit()
    if fit is None:
        return Forecast(None, None, "", f"needs {MIN_DAYS} whole days of measurements")
    weekly = fit.per_week
    growth = f"{'+' if weekly >= 0 else '-'}{percent(abs(weekly))}/week {_model(fit)}"
    budget = "rate-limit budget"
    limits = [
        (v.utilisation, budget if v.capacity_bound == "rate_limit" else "capacity")
        for v in verdicts
        if v.utilisation
    ]
    limits += [(v.budget_use, budget) for v in verdicts if v.budget_use]
    if fit.rate <= 0 or not limits:
        return Forecast(weekly, None, "", f"at {growth}, no saturation ahead", fit.model)
    utilisation, limit = max(limits, key=lambda item: item[0] or 0.0)
    assert utilisation is not None
    if utilisation >= 1:
        return Forecast(weekly, 0.0, limit, f"already past its {limit}", fit.model, 0.0, 0.0)
    factor = 1 / utilisation
    days = _within(fit.days_until(factor))
    fast, slow = fit.span(factor)
    earliest, latest = _within(fast), _within(slow)
    if days is None:
        sentence = f"at {growth}, no saturation within a year"
        if earliest is not None:
            sentence += f" (at the fast end of its range, in {earliest:.0f} days)"
        return Forecast(weekly, None, limit, sentence, fit.model, earliest, None)
    earliest = min(earliest or days, days)  # the fast end comes no later than the estimate
    sentence = f"at {growth}, saturates its {limit} in {days:.0f} days{_range(earliest, latest)}"
    return Forecast(weekly, days, limit, sentence, fit.model, earliest, latest)


def _model(fit: Fit) -> str:
    if not fit.chosen:
        return f"({fit.model}: {fit.days} days are too few to tell whether it compounds)"
    if fit.rival is not None:
        return f"({fit.model}; {fit.rival.model} fits nearly as well, and the range spans both)"
    return f"({fit.model})"


def _range(earliest: float, latest: float | None) -> str:
    if latest is None:
        return f" ({earliest:.0f} days to more than a year)"
    if f"{earliest:.0f}" == f"{latest:.0f}":
        return ""
    return f" ({earliest:.0f}-{latest:.0f})"


def _within(days: float | None) -> float | None:
    return days if days is not None and days <= _HORIZON_DAYS else None
