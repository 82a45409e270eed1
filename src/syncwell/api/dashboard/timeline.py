"""Incidents on a timeline: a lane per integration, a bar per incident from its opening to
its resolution (or to now, drawn red, while it is open). Inline SVG, like the plots.

A bar is never narrower than `MIN_BAR_PX`: a 30-second incident in a day is a fraction of
a pixel wide, and even in a few minutes' window it must be a mark a person sees and can hover.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

from syncwell.analyze.words import duration
from syncwell.api.dashboard.charts import time_ticks
from syncwell.store import Incident

__all__ = ["MIN_BAR_PX", "incident_timeline"]

_WIDTH = 960
MIN_BAR_PX = 8.0
"""The narrowest a bar is drawn, in the picture's units (of 960 across)."""
_RIGHT = _WIDTH - 8
_LANE = 26
_LEFT = 130  # room for the integrations' names
_TOP = 8
_AXIS = 22
_OPEN = "#c62828"
_RESOLVED = "#ef6c00"
_GRID = "#e0e4e8"
_MUTED = "#607d8b"

_Scale = Callable[[float], float]
"""A moment (Unix seconds) to its x in the picture."""


def incident_timeline(
    incidents: Sequence[Incident], integrations: Sequence[str], *, since: float, until: float
) -> str:
    """The incidents in [since, until) of `integrations` (and any other they name)."""
    lanes = list(integrations) + sorted({i.integration for i in incidents} - set(integrations))
    height = _TOP + len(lanes) * _LANE + _AXIS
    span = max(until - since, 1.0)

    def x(at: float) -> float:
        return _LEFT + (min(max(at, since), until) - since) / span * (_RIGHT - _LEFT)

    parts = [
        f'<svg class="timeline" viewBox="0 0 {_WIDTH} {height}" role="img" '
        f'aria-label="Incidents timeline" font-family="inherit" font-size="12">',
        "<title>Incidents timeline</title>",
    ]
    parts += _ticks(since, until, height, x)
    for index, lane in enumerate(lanes):
        y = _TOP + index * _LANE
        parts.append(
            f'<text x="{_LEFT - 8}" y="{y + 17}" text-anchor="end" fill="#263238">'
            f"{html.escape(lane)}</text>"
        )
        for incident in (i for i in incidents if i.integration == lane):
            parts.append(_bar(incident, y, x, until))
    parts.append("</svg>")
    return "".join(parts)


def _ticks(since: float, until: float, height: int, x: _Scale) -> list[str]:
    """A gridline and a label at round times of the window, as the plots have them: clock
    times in a day or less, dates beyond (spelt out: no server locale)."""
    parts = []
    for at, label in time_ticks(since, until):
        left = x(at)
        parts.append(
            f'<line x1="{left:.1f}" y1="{_TOP}" x2="{left:.1f}" y2="{height - _AXIS}" '
            f'stroke="{_GRID}"/><text class="tick" x="{left:.1f}" y="{height - 6}" '
            f'text-anchor="middle" fill="{_MUTED}">{label}</text>'
        )
    return parts


def _bar(incident: Incident, y: int, x: _Scale, until: float) -> str:
    left, right = x(incident.opened_at), x(incident.closed_at or until)
    width = max(right - left, MIN_BAR_PX)
    left = min(left, _RIGHT - width)  # a short one at the right edge stays inside
    colour = _OPEN if incident.closed_at is None else _RESOLVED
    state = "open" if incident.resolve_s is None else f"resolved in {duration(incident.resolve_s)}"
    tip = f"{incident.flow}: {incident.cause} ({state}) {incident.detail}"
    return (
        f'<rect class="incident" x="{left:.1f}" y="{y + 5}" width="{width:.1f}" height="16" '
        f'rx="3" fill="{colour}"><title>{html.escape(tip)}</title></rect>'
    )
