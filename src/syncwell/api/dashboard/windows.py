"""The time windows a page can show: a fixed choice (the last hour, 6 hours, a day, a week),
or the window that fits the data, from the first measurement to now.

A page opened without a choice fits its data while that is younger than the page's longest
default (a day for an integration's plots, a week for the incidents), so a run a few minutes
old fills the plots rather than drawing a dot at the right edge of a day. The fitted window
is never shorter than a quarter of an hour: the store measures by the minute, so a shorter
one would plot a handful of points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from syncwell.analyze.words import duration
from syncwell.store import Store

__all__ = ["FIXED", "MIN_FITTED_S", "SINCE_START", "Choice", "Window", "choose_window", "fitted"]

Choice = Literal["start", "1h", "6h", "24h", "7d"]
"""A window as asked for in ``?window=``: since the first measurement, or a fixed span."""
SINCE_START: Choice = "start"
FIXED: dict[Choice, float] = {"1h": 3600.0, "6h": 6 * 3600.0, "24h": 86400.0, "7d": 7 * 86400.0}
"""The fixed windows offered, by their label."""
MIN_FITTED_S = 15 * 60.0
"""The shortest window fitted to the data."""


@dataclass(frozen=True, slots=True)
class Window:
    """The window a page shows, and what its window links offer."""

    choice: Choice
    """What is shown selected: the fixed window, or `SINCE_START` when fitted."""
    since: float
    until: float
    offered: list[tuple[Choice, str]]
    """The window links, (choice, label), in order: since start only while it fits."""

    @property
    def span_s(self) -> float:
        return self.until - self.since

    @property
    def words(self) -> str:
        """The window for a page's heading: "the last 24h", "the last 15m (since start)"."""
        if self.choice == SINCE_START:
            return f"the last {duration(self.span_s)} (since the first measurement)"
        return f"the last {self.choice}"


def fitted(choice: Choice, first: float | None, now: float, *, longest: Choice) -> Window:
    """The window for `choice` at `now`, given the `first` measurement (None: nothing
    measured). Since start is from `first` (at least `MIN_FITTED_S`) while that is younger
    than `longest`; otherwise it is `longest`."""
    fits = first is not None and now - first < FIXED[longest]
    offered: list[tuple[Choice, str]] = [(SINCE_START, "since start")] if fits else []
    offered += [(label, label) for label in FIXED]
    if choice == SINCE_START and first is not None and fits:
        return Window(SINCE_START, min(first, now - MIN_FITTED_S), now, offered)
    shown = longest if choice == SINCE_START else choice
    return Window(shown, now - FIXED[shown], now, offered)


async def choose_window(
    store: Store, flows: Sequence[str] | None, choice: Choice, now: float, *, longest: Choice
) -> Window:
    """The window for `choice`, fitted to the first measurement of `flows` (None: of any)."""
    # Asked for a fixed window too: the link to the fitted one is offered while it fits.
    return fitted(choice, await store.measurements.first_minute(flows), now, longest=longest)
