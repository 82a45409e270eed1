"""The sandbox's small parts on their own: limiter, early-request watch, outages, parsers."""

from __future__ import annotations

import contextlib
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncwell.sandbox import FaultSettings, PeriodicOutage, WindowOutage
from syncwell.sandbox.crm.kinds import CONTACTS, validate_inputs
from syncwell.sandbox.crm.store import Cursor
from syncwell.sandbox.email.members import check_member
from syncwell.sandbox.faults import FaultState
from syncwell.sandbox.messy import RecordShape, spoil
from syncwell.sandbox.params import BadRequestError
from syncwell.sandbox.ratelimit import FixedWindow
from syncwell.sandbox.stamps import VersionClock
from syncwell.sandbox.stats import ToolStats

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


class Clock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_fixed_window_resets_at_each_whole_second() -> None:
    """`limit` requests pass per whole second; the next second starts afresh."""
    clock = Clock(100.2)
    window = FixedWindow(now=clock)
    verdicts = [window.take(2) for _ in range(3)]
    assert [v.allowed for v in verdicts] == [True, True, False]
    assert verdicts[0].headers()["X-RateLimit-Remaining"] == "1"
    assert verdicts[2].reset_s == pytest.approx(0.8)
    clock.now = 101.0
    assert window.take(2).allowed


def test_early_requests_are_those_inside_a_retry_after() -> None:
    """Arrivals after a Retry-After was sent and before it ran out count as early, no others."""
    clock = Clock()
    stats = ToolStats(mono=clock, wall=clock)
    stats.told_to_wait(1.0)
    clock.now += 0.01
    assert not stats.arrive().early, "in flight when the 429 went out"
    clock.now += 0.5
    assert stats.arrive().early
    clock.now += 0.6
    assert not stats.arrive().early
    assert stats.early_requests == 1


def test_outages_periodic_and_absolute() -> None:
    """A periodic outage covers the end of each period; a window covers [start, end)."""
    clock = Clock(1000.0)
    periodic = FaultSettings(outages=(PeriodicOutage(every_s=10, for_s=2),))
    faults = FaultState(periodic, random.Random(1), now=clock)
    clock.now = 1007.9
    assert faults.outage_left_s() is None
    clock.now = 1008.5
    assert faults.outage_left_s() == pytest.approx(1.5)
    faults.update({"outages": [WindowOutage(start=2000, end=2005).model_dump()]})
    clock.now = 2004
    assert faults.outage_left_s() == pytest.approx(1)
    clock.now = 2005
    assert faults.outage_left_s() is None


def test_version_clock_never_repeats_or_goes_back() -> None:
    """Stamps strictly increase even when the wall clock stands still or steps back."""
    clock = Clock(1_700_000_000.0)
    versions = VersionClock("z", now=clock)
    versions.observe("2023-11-14T22:13:20.000005Z")
    first, second = versions.next(), versions.next()
    clock.now -= 60
    third = versions.next()
    assert first == "2023-11-14T22:13:20.000006Z" and first < second < third


@given(st.text())
def test_any_cursor_text_decodes_or_is_a_clear_400(text: str) -> None:
    """A cursor from outside either decodes or raises BadRequestError, never anything else."""
    for by_update in (False, True):
        with contextlib.suppress(BadRequestError):
            Cursor.decode(text, by_update=by_update)


@given(st.integers(min_value=0, max_value=2**53), st.none() | st.text())
def test_cursors_round_trip(last_id: int, last_updated: str | None) -> None:
    """What the CRM encodes it decodes to the same position."""
    cursor = Cursor(last_id, last_updated)
    assert Cursor.decode(cursor.encode(), by_update=last_updated is not None) == cursor


@settings(max_examples=60)
@given(JSON)
def test_any_batch_body_validates_or_is_a_clear_400(inputs: Any) -> None:
    """Whatever JSON arrives as `inputs`, the CRM answers with clean inputs or a 400."""
    try:
        cleaned = validate_inputs(CONTACTS, inputs)
    except BadRequestError:
        return
    assert all(isinstance(item["email"], str) for item in cleaned)


@settings(max_examples=60)
@given(JSON)
def test_any_member_is_accepted_or_explained(item: Any) -> None:
    """Each member of an email batch is either clean or comes with at least one reason."""
    member, problems = check_member(item)
    assert (member is None) == bool(problems)


@given(st.integers(min_value=0, max_value=10**6))
def test_spoiled_records_always_differ_from_the_original(seed: int) -> None:
    """A spoiled copy is never the clean record, and the clean record is left untouched."""
    record: dict[str, object] = {"id": 7, "email": "a@b.co", "updated_at": "2024-01-01T00:00:00Z"}
    original = dict(record)
    shape = RecordShape(required=("id", "email", "updated_at"), dates=("updated_at",))
    assert spoil(record, shape, random.Random(seed)) != original
    assert record == original
