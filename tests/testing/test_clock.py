"""FakeClock: time that moves only when the code sleeps or the test says so."""

from __future__ import annotations

import asyncio

import pytest

import syncwell.testing
from syncwell.testing import FakeClock
from syncwell.types import Clock


def test_starts_where_told() -> None:
    """A new clock reads its start values on both the monotonic and the wall clock."""
    clock = FakeClock(start=5.0, wall_start=1_000.0)
    assert clock.now() == 5.0
    assert clock.wall() == 1_000.0


def test_default_wall_is_a_plausible_unix_time() -> None:
    """By default the wall clock reads November 2023, so code formatting dates gets a real one."""
    assert FakeClock().wall() == 1_700_000_000.0


def test_advance_moves_both_clocks_together() -> None:
    """advance() moves now() and wall() by the same amount and records no sleep."""
    clock = FakeClock()
    clock.advance(2.5)
    assert clock.now() == 2.5
    assert clock.wall() == 1_700_000_002.5
    assert clock.sleeps == []


def test_advance_refuses_to_go_back() -> None:
    """A monotonic clock never goes back, so a negative advance is a test bug and raises."""
    with pytest.raises(ValueError, match="cannot go back"):
        FakeClock().advance(-1.0)


async def test_sleep_moves_time_and_records_the_wait() -> None:
    """sleep() returns at once having moved time by the wait, which it records in order."""
    clock = FakeClock()
    await clock.sleep(1.5)
    await clock.sleep(0.25)
    assert clock.now() == 1.75
    assert clock.sleeps == [1.5, 0.25]


async def test_negative_sleep_is_recorded_but_moves_no_time() -> None:
    """A negative wait moves no time (like asyncio.sleep) yet stays visible to the test."""
    clock = FakeClock(start=3.0)
    await clock.sleep(-2.0)
    assert clock.now() == 3.0
    assert clock.sleeps == [-2.0]


async def test_sleep_lets_other_tasks_run() -> None:
    """sleep() yields to the event loop once, so a task scheduled before it gets its turn."""
    clock = FakeClock()
    ran: list[str] = []

    async def other() -> None:
        ran.append("other")

    task = asyncio.create_task(other())
    await clock.sleep(1.0)
    assert ran == ["other"]
    await task


def test_is_a_clock() -> None:
    """FakeClock fits the Clock protocol, so it can be passed wherever a Clock is asked for."""
    clock: Clock = FakeClock()
    assert clock.now() == 0.0


def test_public_names_are_sorted_and_complete() -> None:
    """syncwell.testing exports FakeClock under a sorted __all__ that names only real objects."""
    assert syncwell.testing.__all__ == sorted(syncwell.testing.__all__)
    assert "FakeClock" in syncwell.testing.__all__
    for name in syncwell.testing.__all__:
        assert hasattr(syncwell.testing, name)
