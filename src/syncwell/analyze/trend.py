"""A volume trend: changes per day over the last weeks, and the growth fitted to them.

Two models are fitted to the days, each by least squares:

- linear, y = a + b·x: volume grows by the same number of changes each day, b, which is
  read relative to where the line stands on the last day;
- compounding, ln y = c + β·x: volume grows by the same share each day, e^β - 1.

The one that fits better is kept, judged on one scale: the log fit's residuals are brought
back to the scale of the data by the geometric mean of the days (the slope of the logarithm
there), and the smaller sum of squares wins. With two parameters each this is the comparison
by AIC, each model with its own noise: constant for the line, proportional to volume for the
compounding one (Box and Cox's comparison). A tie, a day without changes (no logarithm) or
fewer than a week of days keeps the plainer line.

The growth comes with its 90% confidence interval, from the spread of the days around the
fit (Student's t with n - 2 degrees of freedom): the forecast's range. When the other model
fits almost as well (their AICs within 2), the range spans its interval too: the days cannot
tell the two apart, and the forecast says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

__all__ = ["MIN_DAYS", "MIN_DAYS_TO_CHOOSE", "Fit", "Model", "Trend"]

MIN_DAYS = 3
"""Measured days a trend needs."""
MIN_DAYS_TO_CHOOSE = 7
"""Measured days it takes to tell compounding growth from a line; fewer keep the line."""

Model = Literal["linear", "compounding"]

_T95 = (
    6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812,
    1.796, 1.782, 1.771, 1.761, 1.753, 1.746, 1.740, 1.734, 1.729, 1.725,
    1.721, 1.717, 1.714, 1.711, 1.708, 1.706, 1.703, 1.701, 1.699, 1.697,
)  # fmt: skip
"""Student's t at 95% (one side of a 90% interval) for 1 to 30 degrees of freedom."""
_Z95 = 1.6449
_CLOSE_AIC = 2.0
"""Models whose AICs are closer than this both have support (Burnham and Anderson)."""


@dataclass(frozen=True, slots=True)
class Fit:
    """Growth fitted to a trend: its model, its daily rate and that rate's 90% interval.

    The rate is per day: for a line, its slope over its level on the last day; for
    compounding growth, β, the slope of the logarithm (volume is e^(β·t) times today's).
    """

    model: Model
    rate: float
    low: float
    high: float
    days: int
    """Measured days fitted."""
    rival: Fit | None = None
    """The other model, when it fits almost as well (AIC within 2)."""

    @property
    def per_week(self) -> float:
        """Growth in a week, relative to today (0.15 is +15%)."""
        if self.model == "linear":
            return self.rate * 7
        return math.expm1(self.rate * 7)

    @property
    def chosen(self) -> bool:
        """Whether there were days enough to choose the model by fit."""
        return self.days >= MIN_DAYS_TO_CHOOSE

    def days_until(self, factor: float, rate: float | None = None) -> float | None:
        """Days until volume is `factor` times today's at `rate` (the fitted one by default);
        None when it never is (no growth)."""
        rate = self.rate if rate is None else rate
        if factor <= 1:
            return 0.0
        if rate <= 0:
            return None
        if self.model == "linear":
            return (factor - 1) / rate
        return math.log(factor) / rate

    def span(self, factor: float) -> tuple[float | None, float | None]:
        """The fewest and the most days until volume is `factor` times today's, at either end
        of the growth's interval (and of the rival's); None for never."""
        fits = (self,) if self.rival is None else (self, self.rival)
        fast = [f.days_until(factor, f.high) for f in fits]
        slow = [f.days_until(factor, f.low) for f in fits]
        known = [days for days in fast if days is not None]
        earliest = min(known) if known else None
        latest = None if None in slow else max(d for d in slow if d is not None)
        return earliest, latest


@dataclass(frozen=True, slots=True)
class Trend:
    """Changes per day: (day, changes) for each measured day, oldest first, and the day the
    forecast starts from (the last whole day of the span, measured or not)."""

    points: tuple[tuple[float, float], ...]
    last: float

    @property
    def days(self) -> int:
        """Measured days."""
        return len(self.points)

    @classmethod
    def of(cls, points: Iterable[tuple[float, float]], last: float) -> Trend | None:
        """A trend of `points` (day, changes), or None when they are too few to make one."""
        ordered = tuple(sorted(points))
        if len(ordered) < MIN_DAYS or ordered[0][0] == ordered[-1][0]:
            return None
        return cls(ordered, last)

    @classmethod
    def from_days(cls, days: Sequence[float]) -> Trend | None:
        """The trend of a series of days, oldest first (NaN: a day not measured)."""
        points = [(float(x), y) for x, y in enumerate(days) if not math.isnan(y)]
        return cls.of(points, len(days) - 1)

    @classmethod
    def combined(cls, trends: Iterable[Trend | None]) -> Trend | None:
        """The trend of several flows' summed volume, over the days each of them was
        measured."""
        known = [t for t in trends if t is not None]
        if len(known) <= 1:
            return known[0] if known else None
        totals = dict(known[0].points)
        for trend in known[1:]:
            mine = dict(trend.points)
            totals = {x: y + mine[x] for x, y in totals.items() if x in mine}
        return cls.of(totals.items(), max(t.last for t in known))

    def fit(self) -> Fit | None:
        """The model that fits the days better, with its growth and the growth's interval;
        None when neither can say (a line at or below zero on the last day)."""
        line = _least_squares(self.points)
        level = line.at(self.last)
        straight = line.fit("linear", level, self.last) if level > 0 else None
        if self.days < MIN_DAYS_TO_CHOOSE or any(y <= 0 for _, y in self.points):
            return straight
        logs = _least_squares([(x, math.log(y)) for x, y in self.points])
        compounding = logs.fit("compounding", 1.0, self.last)
        if straight is None:
            return compounding
        mean_log = sum(math.log(y) for _, y in self.points) / self.days
        # n·ln(RSS_line / (RSS_log·G²)): the line's AIC less the compounding one's.
        scaled = logs.rss * math.exp(2 * mean_log)
        better = _aic_gap(self.days, line.rss, scaled)
        winner, loser = (compounding, straight) if better > 0 else (straight, compounding)
        return replace(winner, rival=loser) if abs(better) < _CLOSE_AIC else winner


@dataclass(frozen=True, slots=True)
class _Line:
    """A least-squares line through n points: y = mean_y + slope·(x - mean_x)."""

    n: int
    mean_x: float
    mean_y: float
    slope: float
    sxx: float
    """Σ(x - mean_x)²."""
    rss: float
    """The residual sum of squares."""

    def at(self, x: float) -> float:
        return self.mean_y + self.slope * (x - self.mean_x)

    def fit(self, model: Model, level: float, last: float) -> Fit:
        """The growth `rate` = slope / level at `last` (level 1: the slope itself) and its
        90% interval; a line's level is fitted too, so its uncertainty counts (delta
        method)."""
        rate = self.slope / level
        variance = self.rss / (self.n - 2) if self.n > 2 else 0.0
        if model == "compounding":
            spread = math.sqrt(variance / self.sxx)
        else:
            ahead = last - self.mean_x
            var_slope = variance / self.sxx
            var_level = variance * (1 / self.n + ahead * ahead / self.sxx)
            covariance = ahead * var_slope
            var_rate = (
                var_slope / level**2
                - 2 * self.slope * covariance / level**3
                + self.slope**2 * var_level / level**4
            )
            spread = math.sqrt(max(var_rate, 0.0))
        half = _t95(self.n - 2) * spread
        return Fit(model, rate, rate - half, rate + half, self.n)


def _least_squares(points: Sequence[tuple[float, float]]) -> _Line:
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    slope = sxy / sxx
    rss = sum((y - mean_y - slope * (x - mean_x)) ** 2 for x, y in points)
    return _Line(n, mean_x, mean_y, slope, sxx, rss)


def _aic_gap(n: int, line_rss: float, log_rss_scaled: float) -> float:
    """How much better (lower) the compounding model's AIC is than the line's; 0 for a tie
    (a perfect fit of both: no growth)."""
    if line_rss <= 0 or log_rss_scaled <= 0:
        return math.inf if line_rss > 0 else -math.inf if log_rss_scaled > 0 else 0.0
    return n * math.log(line_rss / log_rss_scaled)


def _t95(freedom: int) -> float:
    """Student's t at 95% for `freedom` degrees of freedom (a first-order expansion past 30)."""
    if freedom < 1:
        return math.inf
    if freedom <= len(_T95):
        return _T95[freedom - 1]
    return _Z95 + (_Z95**3 + _Z95) / (4 * freedom)
