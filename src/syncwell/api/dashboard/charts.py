"""Small time-series line charts drawn as inline SVG, with the standard library only.

The dashboard's pages are rendered on the server and refreshed as HTML fragments, so a chart has
to be markup the server writes; matplotlib would add tens of MB and about 100 ms a chart.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["MONTHS", "PALETTE", "Series", "Threshold", "line_chart", "time_ticks"]

# Okabe-Ito, less its yellow, which is too faint as a thin line on white.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9")
_DAY = 86400
_MINUTES = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880)
# Past two days, whole weeks doubling: far enough for any window datetime can label.
_TIME_STEPS = (*(60 * m for m in _MINUTES), *(7 * _DAY * 2**k for k in range(20)))
_MAX_X_TICKS = 7
# Spelled out so that labels do not follow the server's locale.
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# A nice top of the y axis (times a power of ten), and how many gridline steps divide it.
_Y_TOPS = ((1.0, 4), (2.0, 4), (2.5, 5), (5.0, 5))
_SUFFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
# Characters XML 1.0 cannot carry at all, not even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# No font metrics on the server: an 11px sans-serif character is about this wide.
_CHAR_PX = 6.2
_TOP, _RIGHT, _X_LABELS, _LEGEND_ROW, _MIN_PLOT = 24, 20, 20, 16, 40
_LEGEND_CHARS = 24
_DASHED = ' stroke-dasharray="4 3"'
_LABEL_PX = 13  # a label's height: two closer than this overlap
_NO_DATA = "no data in this window"

_Point = tuple[float, float | None]


@dataclass(frozen=True, slots=True)
class Series:
    """One line of a chart.

    Attributes:
        name: The legend label and tooltip prefix, e.g. a flow name such as ``"contacts"``.
        points: ``(unix seconds, value)`` pairs; a value of ``None`` is a gap in the line.
    """

    name: str
    points: Sequence[tuple[float, float | None]]


@dataclass(frozen=True, slots=True)
class Threshold:
    """A value marked across a chart with a dashed line, e.g. a flow's freshness SLO.

    Attributes:
        value: Where the line is, in the chart's values.
        label: Its label at the right end; the value with the unit when empty.
        series: The index of the series it belongs to, whose colour it takes; None for a
            mark of no one series (drawn in the text's colour).
    """

    value: float
    label: str = ""
    series: int | None = None


@dataclass(frozen=True, slots=True)
class _Frame:
    """The plot area in SVG units, and the time window and value range it shows."""

    left: float
    top: float
    right: float
    bottom: float
    since: float
    until: float
    ymax: float

    def x(self, t: float) -> float:
        return self.left + (t - self.since) / (self.until - self.since) * (self.right - self.left)

    def y(self, v: float) -> float:
        return self.bottom - v / self.ymax * (self.bottom - self.top)


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    unit: str,
    since: float,
    until: float,
    width: int = 560,
    height: int = 200,
    percent: bool = False,
    thresholds: Sequence[Threshold] = (),
) -> str:
    """Draw `series` over the window `since`..`until` as one ``<svg>`` element.

    Values below zero count as zero, NaN and infinities as gaps; a line to a point outside the
    window is cut at the window's edge. `width` and `height` set the viewBox (the element scales
    to its container); a legend too long for `height` makes the chart taller.

    Args:
        series: The lines, coloured in order from a palette of six.
        title: The heading, also the chart's accessible name.
        unit: Shown after the heading and after values in tooltips, e.g. ``"changes/s"``.
        since: The window's start, unix seconds.
        until: The window's end, unix seconds.
        percent: The values are shares from 0 to 1, labelled as percents.
        thresholds: Values to mark with dashed lines, e.g. SLOs; the y axis rises to show
            each. A label that would overlap another's moves left of it.

    Raises:
        ValueError: The window is empty or runs backwards, or `width` is below 120.
    """
    if not (math.isfinite(until - since) and until > since) or width < 120:
        raise ValueError(f"cannot draw {since!r}..{until!r} in width {width!r}")
    lines = [_clean(s.points, since, until) for s in series]
    values = [v for line in lines for _, v in line if v is not None]
    marks = [(v, t) for t in thresholds if (v := _finite(t.value)) is not None]
    ymax, steps = _nice_top(max([*values, *(v for v, _ in marks)], default=0.0))
    y_ticks = [(ymax * i / steps, _fmt(ymax * i / steps, percent)) for i in range(steps + 1)]
    left = 8 + _CHAR_PX * max(len(label) for _, label in y_ticks)
    legend = _legend_layout([s.name for s in series], width - _RIGHT - left)
    below = _X_LABELS + _LEGEND_ROW * (1 + max(row for _, row, _ in legend) if legend else 0)
    total = max(height, _TOP + _MIN_PLOT + below)
    frame = _Frame(left, _TOP, width - _RIGHT, total - below, since, until, ymax)
    parts = [f"<title>{_esc(title)}</title>", _heading(title, unit), _x_axis(frame)]
    if values:
        parts.append(_y_axis(frame, y_ticks))
        parts.append(_thresholds(frame, marks, percent, unit))
        for index, (one, line) in enumerate(zip(series, lines, strict=True)):
            parts.append(_marks(index, one.name, line, frame, unit, percent))
    else:
        parts.append(_text("no-data", (left + frame.right) / 2, (_TOP + frame.bottom) / 2 + 4,
                           _NO_DATA, ' text-anchor="middle" fill-opacity="0.6"'))  # fmt: skip
    parts.append(_legend(legend, frame.left, frame.bottom + _X_LABELS))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {total}" '
        f'width="100%" role="img" aria-label="{_esc(title)}" font-family="inherit" '
        f'font-size="11" fill="currentColor">{"".join(parts)}</svg>'
    )


def _finite(value: float | None) -> float | None:
    """A value fit to draw: None for no value, NaN or infinity, and never below zero."""
    return max(0.0, value) if value is not None and math.isfinite(value) else None


def _clean(
    points: Sequence[tuple[float, float | None]], since: float, until: float
) -> list[_Point]:
    """The points to draw, in time order, with the lines to the nearest points outside the
    window cut at its edges; the points further out are dropped."""
    ordered = sorted(((t, _finite(v)) for t, v in points if math.isfinite(t)), key=lambda p: p[0])
    before = [p for p in ordered if p[0] < since]
    inside = [p for p in ordered if since <= p[0] <= until]
    after = [p for p in ordered if p[0] > until]
    first = inside[:1] or after[:1]
    last = inside[-1:] or before[-1:]
    start = [_at(since, before[-1], first[0])] if before and first else []
    end = [_at(until, last[0], after[0])] if after and last else []
    return start + inside + end


def _at(t: float, a: _Point, b: _Point) -> _Point:
    """The point at time `t` on the line from `a` to `b`; a gap if either end is one."""
    (ta, va), (tb, vb) = a, b
    if va is None or vb is None:
        return t, None
    return t, _finite(va + (vb - va) * ((t - ta) / (tb - ta)))


def _nice_top(largest: float) -> tuple[float, int]:
    """The smallest nice value at or above `largest`, and how many gridline steps split it."""
    if largest <= 0:
        return 1.0, 4
    # 10.0 ** k underflows to 0 for the tiniest floats; the next decade then takes over.
    decade = 10.0 ** math.floor(math.log10(largest))
    for scale in (decade, decade * 10):
        for nice, steps in _Y_TOPS:
            if nice * scale >= largest:
                # Past 1e308 the next nice value is infinite; the largest value will do.
                return (nice * scale, steps) if math.isfinite(nice * scale) else (largest, 4)
    return largest, 4


def _fmt(value: float, percent: bool, unit: str = "") -> str:
    """`value` compactly, as a percent of 1 or followed by `unit`."""
    if percent:
        return f"{_compact(value * 100)}%"
    return f"{_compact(value)} {unit}" if unit else _compact(value)


def _compact(value: float) -> str:
    """Three significant digits at most, thousands as k, M, G, T: ``0.25``, ``12``, ``1.2k``."""
    for scale, suffix in _SUFFIXES:
        # 999.7 rounds to 1k, not to "1e+03".
        if abs(value) >= scale * 0.9995 and abs(value) < scale * 999.5:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}" if abs(value) < 999.5 else f"{value:.2g}"


def time_ticks(since: float, until: float) -> list[tuple[int, str]]:
    """Ticks at round UTC times, at most seven, labelled as clock times or as dates."""
    step = next(s for s in _TIME_STEPS if until // s - math.ceil(since / s) < _MAX_X_TICKS)
    first = math.ceil(since / step)
    ticks: list[tuple[int, str]] = []
    for t in (step * i for i in range(first, int(until // step) + 1)):
        when = datetime.fromtimestamp(t, UTC)
        ticks.append(
            (t, f"{MONTHS[when.month - 1]} {when.day}" if step >= _DAY else f"{when:%H:%M}")
        )
    return ticks


def _heading(title: str, unit: str) -> str:
    unit_part = (
        f'<tspan class="chart-unit" fill-opacity="0.65"> ({_esc(unit)})</tspan>' if unit else ""
    )
    return (
        f'<text class="chart-heading" x="0" y="13"><tspan class="chart-title" font-weight="600">'
        f"{_esc(title)}</tspan>{unit_part}</text>"
    )


def _x_axis(frame: _Frame) -> str:
    parts = [
        f'<rect class="frame" x="{_n(frame.left)}" y="{_n(frame.top)}" '
        f'width="{_n(frame.right - frame.left)}" height="{_n(frame.bottom - frame.top)}" '
        'fill="none" stroke="currentColor" stroke-opacity="0.3"/>'
    ]
    for t, label in time_ticks(frame.since, frame.until):
        x = frame.x(t)
        parts.append(_line("x-grid", x, frame.bottom, x, frame.bottom + 4, "0.3"))
        parts.append(_text("x-tick", x, frame.bottom + 15, label, ' text-anchor="middle"'))
    return "".join(parts)


def _y_axis(frame: _Frame, ticks: list[tuple[float, str]]) -> str:
    parts = []
    for value, label in ticks:
        y = frame.y(value)
        parts.append(_line("y-grid", frame.left, y, frame.right, y, "0.12"))
        parts.append(_text("y-tick", frame.left - 4, y + 4, label, ' text-anchor="end"'))
    return "".join(parts)


def _thresholds(
    frame: _Frame, marks: Sequence[tuple[float, Threshold]], percent: bool, unit: str
) -> str:
    """A dashed line and a label per threshold. Labels sit above their line at the right; one
    that would overlap a label already placed (lines a few pixels apart) moves left of it."""
    parts: list[str] = []
    placed: list[tuple[float, float, float]] = []  # y, left and right of each label
    for value, mark in sorted(marks, key=lambda m: m[0], reverse=True):
        y = frame.y(value)
        label = mark.label or _fmt(value, percent, unit)
        size = _CHAR_PX * len(label)
        right = frame.right - 2
        for other_y, other_left, other_right in placed:
            if abs(other_y - y) < _LABEL_PX and right - size < other_right and right > other_left:
                right = other_left - 8
        placed.append((y, right - size, right))
        colour = "currentColor" if mark.series is None else PALETTE[mark.series % len(PALETTE)]
        line = _line("threshold", frame.left, y, frame.right, y, "0.7", _DASHED, colour)
        end = f' text-anchor="end" fill-opacity="0.85" fill="{colour}"'
        parts.append(line + _text("threshold-label", max(right, frame.left + size), y - 3,
                                  _esc(label), end))  # fmt: skip
    return "".join(parts)


def _marks(index: int, name: str, line: list[_Point], frame: _Frame, unit: str, pct: bool) -> str:
    """One series: a path of one subpath per unbroken run, a dot for a run of one point."""
    n = index % len(PALETTE)
    runs: list[list[tuple[str, str]]] = [[]]
    for t, v in line:
        if v is None:
            runs.append([])
        else:
            runs[-1].append((_n(frame.x(t)), _n(frame.y(v))))
    path = "".join("M" + "L".join(f"{x} {y}" for x, y in run) for run in runs if len(run) > 1)
    tip = f"<title>{_esc(_tooltip(name, line, unit, pct))}</title>"
    dots = "".join(
        f'<circle class="point series-{n}" cx="{x}" cy="{y}" r="2" fill="{PALETTE[n]}">{tip}'
        "</circle>"
        for run in runs
        if len(run) == 1
        for x, y in run
    )
    return (
        f'<path class="series series-{n}" d="{path}" fill="none" stroke="{PALETTE[n]}" '
        f'stroke-width="1.5" stroke-linejoin="round">{tip}</path>{dots}'
    )


def _tooltip(name: str, line: list[_Point], unit: str, percent: bool) -> str:
    values = [v for _, v in line if v is not None]
    if not values:
        return f"{name}: no data"
    last, top = _fmt(values[-1], percent, unit), _fmt(max(values), percent, unit)
    return f"{name}: last {last}, max {top}"


def _legend_layout(names: list[str], span: float) -> list[tuple[float, int, str]]:
    """Each entry's x offset, row and label, wrapping rows at `span`, the plot's width; no
    entries for a single line, which the heading names well enough."""
    entries: list[tuple[float, int, str]] = []
    x, row = 0.0, 0
    for name in names if len(names) >= 2 else []:
        label = name if len(name) <= _LEGEND_CHARS else name[: _LEGEND_CHARS - 1] + "…"
        size = 14 + _CHAR_PX * len(label) + 12
        if x > 0 and x + size > span:
            x, row = 0.0, row + 1
        entries.append((x, row, label))
        x += size
    return entries


def _legend(entries: list[tuple[float, int, str]], left: float, top: float) -> str:
    parts = []
    for index, (dx, row, label) in enumerate(entries):
        x, y = left + dx, top + row * _LEGEND_ROW + 8
        colour = PALETTE[index % len(PALETTE)]
        parts.append(f'<rect x="{_n(x)}" y="{_n(y - 6)}" width="10" height="3" fill="{colour}"/>')
        parts.append(_text("legend-name", x + 14, y, _esc(label)))
    return f'<g class="legend">{"".join(parts)}</g>' if parts else ""


def _line(
    cls: str,
    x1: float,
    y1: float,
    x2: float,
    y2: float,
    opacity: str,
    more: str = "",
    colour: str = "currentColor",
) -> str:
    return (
        f'<line class="{cls}" x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" '
        f'stroke="{colour}" stroke-opacity="{opacity}"{more}/>'
    )


def _text(cls: str, x: float, y: float, body: str, more: str = "") -> str:
    """A text element; `body` is markup, escaped by the caller where it comes from outside."""
    return f'<text class="{cls}" x="{_n(x)}" y="{_n(y)}"{more}>{body}</text>'


def _n(coordinate: float) -> str:
    """A coordinate to one decimal, without a trailing ``.0``: the markup stays small."""
    text = f"{coordinate:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _esc(text: str) -> str:
    return html.escape(_NOT_XML.sub("\ufffd", text), quote=True)
