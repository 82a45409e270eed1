"""A flow's `rows/s` is its recent rate, read on the engine's clock (here a FakeClock)."""

from __future__ import annotations

import pytest

from syncwell.engine import FlowProgress
from syncwell.engine.progress import RATE_WINDOW_S
from syncwell.testing import FakeClock


def _run(clock: FakeClock, progress: FlowProgress, seconds: int, per_second: int) -> float:
    """`seconds` of work at `per_second`, read once a second like the log's watcher; the last
    reading."""
    rate = 0.0
    for _ in range(seconds):
        clock.advance(1.0)
        progress.settled += per_second
        rate = progress.rate(clock.wall())
    return rate


def test_a_flow_that_went_idle_shows_zero_after_a_window_not_a_decaying_average() -> None:
    """60 s at 100 rows/s then 60 s idle: the average since the start would still say 50; the
    recent rate says 0 once a window has passed without work."""
    clock = FakeClock()
    progress = FlowProgress("contacts", started_at=clock.wall())
    assert _run(clock, progress, 60, 100) == pytest.approx(100.0)
    assert _run(clock, progress, 60, 0) == 0.0
    assert progress.settled / 120 == 50.0  # what the old average said


def test_the_rate_follows_a_change_of_pace_within_a_window() -> None:
    """From 10 rows/s to 400 rows/s: after one window the rate is the new pace."""
    clock = FakeClock()
    progress = FlowProgress("contacts", started_at=clock.wall())
    _run(clock, progress, 300, 10)
    halfway = _run(clock, progress, int(RATE_WINDOW_S / 2), 400)
    assert 150 < halfway < 250  # half the window at each pace
    assert _run(clock, progress, int(RATE_WINDOW_S), 400) == pytest.approx(400.0)


def test_a_run_younger_than_the_window_shows_its_rate_since_the_start() -> None:
    """Five seconds into a run, 250 settled: 50 rows/s, read every second or only now."""
    clock = FakeClock()
    often, once = (FlowProgress(name, started_at=clock.wall()) for name in ("a", "b"))
    _run(clock, often, 5, 50)
    late = FakeClock()
    late.advance(5.0)
    once.settled = 250
    assert often.rate(clock.wall()) == pytest.approx(50.0)
    assert once.rate(late.wall()) == pytest.approx(50.0)


def test_the_run_json_leaves_the_rate_marks_out() -> None:
    """`syncwell run --json` prints counts; the marks behind the rate are not one."""
    from syncwell.cli.running import _progress_dict

    progress = FlowProgress("contacts", started_at=0.0, settled=3)
    progress.rate(10.0)
    found = _progress_dict(progress)
    assert "recent" not in found
    assert found["settled"] == 3
