"""A flow's volume trend: the least-squares line through its changes per day.

The sums the line needs (n, Σx, Σy, Σx², Σxy) add up, so the store computes them per flow in
one query over the daily rollups, and an integration's line is the sum of its flows' lines
(a line through a sum of series is the sum of their lines, day by day).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["MIN_DAYS", "Trend"]

MIN_DAYS = 3
"""Measured days a trend needs."""


@dataclass(frozen=True, slots=True)
class Trend:
    """A line through changes per day: its slope (changes/day per day) and its level on the
    last day, from `days` measured days."""

    days: int
    slope: float
    level: float

    @property
    def growth(self) -> float | None:
        """Growth per day relative to the level; None when the level is not positive."""
        return self.slope / self.level if self.level > 0 else None

    @classmethod
    def from_sums(
        cls, n: int, sx: float, sy: float, sxx: float, sxy: float, last_x: float
    ) -> Trend | None:
        """The line through n points (x, y) given their sums, valued at `last_x`."""
        spread = n * sxx - sx * sx
        if n < MIN_DAYS or spread <= 0:
            return None
        slope = (n * sxy - sx * sy) / spread
        return cls(n, slope, sy / n + slope * (last_x - sx / n))

    @classmethod
    def from_days(cls, days: Sequence[float]) -> Trend | None:
        """The line through a series of days, oldest first (NaN: a day not measured)."""
        points = [(x, y) for x, y in enumerate(days) if not math.isnan(y)]
        return cls.from_sums(
            len(points),
            sum(x for x, _ in points),
            sum(y for _, y in points),
            sum(x * x for x, _ in points),
            sum(x * y for x, y in points),
            len(days) - 1,
        )

    @classmethod
    def combined(cls, trends: Iterable[Trend | None]) -> Trend | None:
        """The line of the summed series of several flows."""
        known = [t for t in trends if t is not None]
        if not known:
            return None
        return cls(
            max(t.days for t in known),
            sum(t.slope for t in known),
            sum(t.level for t in known),
        )
