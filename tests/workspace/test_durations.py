"""Durations as written in syncwell.yaml."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncwell.workspace import format_duration, parse_duration

_UNIT_SECONDS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500ms", timedelta(milliseconds=500)),
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("4h", timedelta(hours=4)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d 2h 3m 4s 5ms", timedelta(days=1, hours=2, minutes=3, seconds=4, milliseconds=5)),
        ("1.5h", timedelta(minutes=90)),
        ("0.1s", timedelta(milliseconds=100)),
        ("90", timedelta(seconds=90)),
        ("2.5", timedelta(seconds=2.5)),
        (45, timedelta(seconds=45)),
        (0.25, timedelta(milliseconds=250)),
        (timedelta(minutes=2), timedelta(minutes=2)),
    ],
)
def test_accepted_forms(text: object, expected: timedelta) -> None:
    """Every documented form of a duration reads as the time it names."""
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "garbage", ["", "soon", "5 minutes", "30m1h", "1h1h", "-5s", "5x", "1e3s", True, None, [1]]
)
def test_garbage_is_refused_with_the_accepted_forms(garbage: object) -> None:
    """Text that is not a duration raises ValueError showing (or implying) the accepted forms."""
    with pytest.raises(ValueError, match=r"duration|1h30m"):
        parse_duration(garbage)


def test_negative_numbers_are_refused() -> None:
    """A negative number of seconds is not a duration."""
    with pytest.raises(ValueError, match="negative"):
        parse_duration(-1)


@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=100_000)))
def test_format_then_parse_round_trips(value: timedelta) -> None:
    """Whatever format_duration writes, parse_duration reads back to the same timedelta."""
    assert parse_duration(format_duration(value)) == value


@given(
    st.dictionaries(st.sampled_from(["d", "h", "m", "s", "ms"]), st.integers(0, 10_000), min_size=1)
)
def test_composed_text_reads_as_the_sum_of_its_parts(parts: dict[str, int]) -> None:
    """A duration written as parts from the largest unit down equals the sum of its parts."""
    order = ["d", "h", "m", "s", "ms"]
    text = "".join(f"{parts[unit]}{unit}" for unit in order if unit in parts)
    seconds = sum(n * _UNIT_SECONDS[u] for u, n in parts.items() if u != "ms")
    expected = timedelta(seconds=seconds, milliseconds=parts.get("ms", 0))
    assert parse_duration(text) == expected


@given(st.one_of(st.text(), st.floats(), st.integers(), st.none(), st.booleans()))
def test_anything_else_raises_only_value_error(value: object) -> None:
    """Any input either parses to a non-negative duration or raises ValueError, nothing else."""
    try:
        result = parse_duration(value)
    except ValueError:
        return
    assert result >= timedelta(0)


@given(st.text(alphabet="0123456789.dhms ", max_size=12))
def test_near_miss_text_raises_only_value_error(text: str) -> None:
    """Text made of duration characters in any order parses or raises ValueError only."""
    with contextlib.suppress(ValueError):
        parse_duration(text)


def test_format_uses_largest_units_first() -> None:
    """format_duration writes the short forms people use in the file."""
    assert format_duration(timedelta(hours=1, minutes=30)) == "1h30m"
    assert format_duration(timedelta(0)) == "0s"
    assert format_duration(timedelta(microseconds=1500)) == "1.5ms"
