"""The dashboard's SVG line charts: well-formed for any input, gaps break lines, nice axes,
no-data text, legend, threshold, and text escaped."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncwell.api.dashboard.charts import PALETTE, Series, Threshold, line_chart

NS = "{http://www.w3.org/2000/svg}"
NOV_27 = 1732665600.0  # 2024-11-27 00:00 UTC
DAY = 86400.0


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def _texts(root: ET.Element, cls: str) -> list[str]:
    return [t.text or "" for t in root.iter(f"{NS}text") if t.get("class") == cls]


def _paths(root: ET.Element) -> list[ET.Element]:
    return [p for p in root.iter(f"{NS}path") if "series" in (p.get("class") or "").split()]


def _chart(
    *series: Series, since: float = NOV_27, until: float = NOV_27 + DAY, **kw: object
) -> str:
    options: dict[str, object] = {"title": "Lag", "unit": "s", **kw}
    return line_chart(list(series), since=since, until=until, **options)  # type: ignore[arg-type]


def _ramp(name: str, *values: float | None, start: float = NOV_27 + 3600) -> Series:
    return Series(name, [(start + i * 600, v) for i, v in enumerate(values)])


values = st.none() | st.floats(allow_nan=True, allow_infinity=True) | st.floats(-10, 1e9)


@st.composite
def windows_and_series(draw: st.DrawFn) -> tuple[float, float, list[Series]]:
    since = draw(st.floats(0, 4e9))
    until = since + draw(st.floats(1, 400 * DAY))
    span = until - since
    times = st.floats(since - span, until + span) | st.just(math.nan)
    points = st.lists(st.tuples(times, values), max_size=40)
    series = draw(st.lists(st.builds(Series, st.text(max_size=30), points), max_size=8))
    return since, until, series


@settings(max_examples=300, deadline=None)
@given(windows_and_series(), st.text(max_size=20), st.booleans(), st.lists(values, max_size=4))
def test_any_input_draws_well_formed_svg_inside_its_viewbox(
    drawn: tuple[float, float, list[Series]], title: str, percent: bool, limits: list[float | None]
) -> None:
    """Random series (gaps, NaN, infinities, negatives, huge values, markup and control
    characters in names) give parseable SVG, one path per series, every coordinate in view."""
    since, until, series = drawn
    svg = line_chart(
        series,
        title=title,
        unit="<&>",
        since=since,
        until=until,
        percent=percent,
        thresholds=[
            Threshold(limit, '"SLO" & <co>' * i, i - 1 if i else None)
            for i, limit in enumerate(limits)
            if limit is not None
        ],
    )
    root = _parse(svg)
    assert root.tag == f"{NS}svg"
    _, _, width, height = (float(v) for v in (root.get("viewBox") or "").split())
    assert len(_paths(root)) == (0 if _texts(root, "no-data") else len(series))
    for path in _paths(root):
        numbers = [float(n) for n in re.findall(r"-?[\d.]+", path.get("d") or "")]
        assert all(0 <= x <= width for x in numbers[0::2])
        assert all(0 <= y <= height for y in numbers[1::2])
    for label in (t for t in root.iter(f"{NS}text") if t.get("class") == "threshold-label"):
        assert 0 <= float(label.get("x") or -1) <= width
        assert 0 <= float(label.get("y") or -1) <= height
    for dot in root.iter(f"{NS}circle"):
        assert 0 <= float(dot.get("cx") or -1) <= width
        assert 0 <= float(dot.get("cy") or -1) <= height
    x_labels = [
        float(t.get("x") or -1) for t in root.iter(f"{NS}text") if t.get("class") == "x-tick"
    ]
    assert len(x_labels) <= 7
    frame = next(r for r in root.iter(f"{NS}rect") if r.get("class") == "frame")
    left, right = (
        float(frame.get("x") or 0),
        float(frame.get("x") or 0) + float(frame.get("width") or 0),
    )
    assert all(left - 0.1 <= x <= right + 0.1 for x in x_labels)


def test_the_svg_names_itself_and_scales() -> None:
    """The root carries viewBox, role, aria-label, class and a <title>, so it scales in a grid
    and screen readers name it."""
    root = _parse(_chart(_ramp("contacts", 1, 2), title="Throughput", width=400, height=150))
    assert root.get("viewBox") == "0 0 400 150"
    assert (root.get("role"), root.get("aria-label"), root.get("class")) == (
        "img",
        "Throughput",
        "chart",
    )
    assert root.get("width") == "100%"
    assert root.findtext(f"{NS}title") == "Throughput"


def test_a_gap_splits_a_path_into_two_subpaths() -> None:
    """A None value ends one subpath and the next value starts a new one with "M"."""
    whole = _paths(_parse(_chart(_ramp("contacts", 1, 2, 3, 4, 5))))[0]
    broken = _paths(_parse(_chart(_ramp("contacts", 1, 2, None, 4, 5))))[0]
    assert (whole.get("d") or "").count("M") == 1
    assert (broken.get("d") or "").count("M") == 2


def test_nan_and_infinity_are_gaps_too() -> None:
    """NaN and infinity break a line as None does."""
    for bad in (math.nan, math.inf, -math.inf):
        path = _paths(_parse(_chart(_ramp("contacts", 1, 2, bad, 4, 5))))[0]
        assert (path.get("d") or "").count("M") == 2


def test_an_isolated_point_is_a_dot() -> None:
    """A value with gaps on both sides draws as a circle, not as a subpath."""
    root = _parse(_chart(_ramp("contacts", 1, 2, None, 3, None, 4, 5)))
    assert (_paths(root)[0].get("d") or "").count("M") == 2
    assert len(list(root.iter(f"{NS}circle"))) == 1


def test_negative_values_sit_on_the_zero_line() -> None:
    """A negative value is clamped to zero: its point has the zero gridline's y."""
    root = _parse(_chart(_ramp("contacts", -5, 3)))
    zero = next(t for t in root.iter(f"{NS}line") if t.get("class") == "y-grid")
    first_y = (_paths(root)[0].get("d") or "").split("L")[0].split()[1]
    assert first_y == zero.get("y1")


@pytest.mark.parametrize(
    ("largest", "labels"),
    [
        (0.8, ["0", "0.25", "0.5", "0.75", "1"]),
        (1.2, ["0", "0.5", "1", "1.5", "2"]),
        (2.2, ["0", "0.5", "1", "1.5", "2", "2.5"]),
        (3.0, ["0", "1", "2", "3", "4", "5"]),
        (7.3, ["0", "2.5", "5", "7.5", "10"]),
        (10.0, ["0", "2.5", "5", "7.5", "10"]),
        (1234.0, ["0", "500", "1k", "1.5k", "2k"]),
        (2345.0, ["0", "500", "1k", "1.5k", "2k", "2.5k"]),
        (3.1e6, ["0", "1M", "2M", "3M", "4M", "5M"]),
    ],
)
def test_the_y_axis_tops_out_at_the_next_nice_value(largest: float, labels: list[str]) -> None:
    """The top tick is the smallest of 1, 2, 2.5, 5 x 10^k at or above the largest value,
    split into 4 or 5 steps and labelled compactly."""
    root = _parse(_chart(_ramp("contacts", 0.1, largest, 0.5)))
    assert _texts(root, "y-tick") == labels


def test_the_threshold_raises_the_y_axis_and_is_drawn_with_its_label() -> None:
    """A threshold above every value still fits: the top tick clears it, and a dashed line
    and its label are drawn."""
    root = _parse(_chart(_ramp("contacts", 1, 3), thresholds=[Threshold(7.3, "SLO 7.3 s")]))
    assert _texts(root, "y-tick")[-1] == "10"
    assert any(t.get("class") == "threshold" for t in root.iter(f"{NS}line"))
    assert _texts(root, "threshold-label") == ["SLO 7.3 s"]
    plain = _parse(_chart(_ramp("contacts", 1, 3), thresholds=[Threshold(5)]))
    assert _texts(plain, "threshold-label") == ["5 s"]
    none = _parse(_chart(_ramp("contacts", 1, 3)))
    assert not _texts(none, "threshold-label")
    assert not any(t.get("class") == "threshold" for t in none.iter(f"{NS}line"))


def test_several_thresholds_each_with_its_label_and_its_series_colour() -> None:
    """Two SLOs draw two dashed lines, each labelled, each in the colour of the series it
    belongs to (a mark of no one series in the text's colour); the axis clears the highest,
    and labels of lines a pixel apart do not overlap."""
    series = (_ramp("contacts", 60, 120), _ramp("deals", 30, 90))
    marks = [Threshold(900, "SLO 15m · contacts", 0), Threshold(1800, "SLO 30m · deals", 1)]
    root = _parse(_chart(*series, thresholds=marks))
    lines = [t for t in root.iter(f"{NS}line") if t.get("class") == "threshold"]
    assert [line.get("stroke") for line in lines] == [PALETTE[1], PALETTE[0]]  # highest first
    assert sorted(_texts(root, "threshold-label")) == ["SLO 15m · contacts", "SLO 30m · deals"]
    assert _texts(root, "y-tick")[-1] == "2k"
    close = _parse(_chart(*series, thresholds=[Threshold(900, "a" * 10), Threshold(901, "b" * 10)]))
    labels = [t for t in close.iter(f"{NS}text") if t.get("class") == "threshold-label"]
    ends = sorted(float(t.get("x") or 0) for t in labels)
    assert ends[1] - ends[0] >= 10 * 6.2  # the second label ends left of the first
    assert all(t.get("fill") == "currentColor" for t in labels)


def test_percent_mode_labels_shares_as_percents() -> None:
    """Shares from 0 to 1 are labelled "0%" .. "50%", and tooltips say percents too."""
    root = _parse(_chart(_ramp("errors", 0.1, 0.3), unit="%", percent=True))
    assert _texts(root, "y-tick") == ["0%", "10%", "20%", "30%", "40%", "50%"]
    assert _paths(root)[0].findtext(f"{NS}title") == "errors: last 30%, max 30%"


def test_the_tooltip_gives_last_and_max_with_the_unit() -> None:
    """Each path's <title> reads "name: last V unit, max V unit"."""
    root = _parse(_chart(_ramp("contacts", 2, 8.1, 3.2), unit="changes/s"))
    title = _paths(root)[0].findtext(f"{NS}title")
    assert title == "contacts: last 3.2 changes/s, max 8.1 changes/s"


def test_a_day_is_labelled_with_clock_times_inside_the_window() -> None:
    """A 24 h window from midnight gets ticks every 6 h, labelled HH:MM in UTC."""
    root = _parse(_chart(_ramp("contacts", 1, 2)))
    assert _texts(root, "x-tick") == ["00:00", "06:00", "12:00", "18:00", "00:00"]


def test_a_week_is_labelled_with_dates() -> None:
    """A 7-day window gets ticks a whole number of days apart, labelled like "Nov 27"."""
    root = _parse(
        _chart(_ramp("contacts", 1, 2), since=NOV_27 - 7 * DAY + 3600, until=NOV_27 + 3600)
    )
    labels = _texts(root, "x-tick")
    assert 4 <= len(labels) <= 7
    assert all(re.fullmatch(r"(Nov|Dec) \d{1,2}", label) for label in labels)
    assert labels[-1] == "Nov 27"


CLOCK_STEPS_MIN = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720)


@settings(max_examples=300, deadline=None)
@given(st.floats(1e9, 2e9), st.floats(60, 60 * DAY))
def test_time_ticks_are_few_round_and_inside_the_window(since: float, span: float) -> None:
    """Windows from a minute to two months get at most 7 ticks (at least 2 past ten minutes),
    all inside the frame; clock ticks are evenly spaced at a listed step and multiples of it."""
    root = _parse(_chart(since=since, until=since + span))
    frame = next(r for r in root.iter(f"{NS}rect") if r.get("class") == "frame")
    left = float(frame.get("x") or 0)
    right = left + float(frame.get("width") or 0)
    ticks = [t for t in root.iter(f"{NS}text") if t.get("class") == "x-tick"]
    assert (2 if span >= 600 else 0) <= len(ticks) <= 7
    assert all(left <= float(t.get("x") or -1) <= right for t in ticks)
    labels = [t.text or "" for t in ticks]
    if span < DAY:  # the largest clock step is 12 h, so a day or more may be labelled by date
        assert all(re.fullmatch(r"\d\d:\d\d", label) for label in labels)
    if labels and all(re.fullmatch(r"\d\d:\d\d", label) for label in labels):
        minutes = [int(label[:2]) * 60 + int(label[3:]) for label in labels]
        gaps = {(b - a) % 1440 for a, b in itertools.pairwise(minutes)}
        assert len(gaps) <= 1
        step = gaps.pop() if gaps else 1
        assert step in CLOCK_STEPS_MIN
        assert all(m % step == 0 for m in minutes)
    else:
        assert all(re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}", label) for label in labels)


def test_no_data_text_when_every_value_is_missing() -> None:
    """All-None series and no series at all draw the frame and the no-data text, no lines."""
    for series in ([_ramp("contacts", None, None)], []):
        root = _parse(_chart(*series))
        assert _texts(root, "no-data") == ["no data in this window"]
        assert not _texts(root, "y-tick")
        assert not (_paths(root) and any(p.get("d") for p in _paths(root)))
    assert not _texts(_parse(_chart(_ramp("contacts", None, 1))), "no-data")


def test_a_legend_only_with_two_or_more_series() -> None:
    """One series has no legend; two have a legend naming both."""
    one = _parse(_chart(_ramp("contacts", 1, 2)))
    assert not [g for g in one.iter(f"{NS}g") if g.get("class") == "legend"]
    two = _parse(_chart(_ramp("contacts", 1, 2), _ramp("deals", 2, 1)))
    assert _texts(two, "legend-name") == ["contacts", "deals"]


def test_a_long_legend_wraps_and_the_chart_grows_to_fit() -> None:
    """Legend rows wrap inside the width, and a legend taller than the room makes the viewBox
    taller instead of squashing the plot."""
    many = [_ramp(f"flow-number-{i:02}", 1, 2) for i in range(30)]
    root = _parse(_chart(*many, height=200))
    height = float((root.get("viewBox") or "").split()[3])
    assert height > 200
    names = [t for t in root.iter(f"{NS}text") if t.get("class") == "legend-name"]
    assert all(float(t.get("y") or 0) < height for t in names)


def test_series_colours_cycle_through_six_classes() -> None:
    """Series i gets class series-(i mod 6) and a stroke colour, so it renders without CSS."""
    root = _parse(_chart(*[_ramp(f"f{i}", 1, 2) for i in range(8)]))
    paths = _paths(root)
    assert [p.get("class") for p in paths][5:] == [
        "series series-5",
        "series series-0",
        "series series-1",
    ]
    assert paths[0].get("stroke") == paths[6].get("stroke") != paths[1].get("stroke")


def test_text_with_markup_is_escaped() -> None:
    """Names, titles, units and labels with <, &, quotes and control characters come back
    intact from an XML parser (control characters as U+FFFD)."""
    name = "<b>\"deals\" & 'co'\x00"
    svg = _chart(
        _ramp(name, 1),
        _ramp("x", 2),
        title='A <"b"> & c',
        unit="&",
        thresholds=[Threshold(1, "<SLO>")],
    )
    root = _parse(svg)
    assert root.get("aria-label") == 'A <"b"> & c'
    assert _texts(root, "legend-name") == ["<b>\"deals\" & 'co'\ufffd", "x"]
    assert (_paths(root)[0].findtext(f"{NS}title") or "").startswith("<b>\"deals\" & 'co'\ufffd: ")
    assert _texts(root, "threshold-label") == ["<SLO>"]


def test_points_outside_the_window_are_cut_at_its_edges() -> None:
    """A line from a point before the window to one inside starts at the frame's left edge,
    halfway in value when the edge is halfway in time."""
    root = _parse(_chart(Series("contacts", [(NOV_27 - 3600, 0.0), (NOV_27 + 3600, 10.0)])))
    frame = next(r for r in root.iter(f"{NS}rect") if r.get("class") == "frame")
    d = _paths(root)[0].get("d") or ""
    x, y = (float(v) for v in d[1:].split("L")[0].split())
    assert x == float(frame.get("x") or -1)
    top, bottom = (
        float(frame.get("y") or 0),
        float(frame.get("y") or 0) + float(frame.get("height") or 0),
    )
    assert y == pytest.approx((top + bottom) / 2, abs=0.1)


def test_a_backwards_window_is_refused() -> None:
    """A window that is empty or runs backwards is a caller's mistake: ValueError."""
    with pytest.raises(ValueError, match="cannot draw"):
        _chart(since=NOV_27, until=NOV_27)
