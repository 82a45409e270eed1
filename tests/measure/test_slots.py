"""How far behind in time a slot is, read back from the engine's notes of the WAL's end."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from syncwell.measure import FlowHealth, IncidentWatch
from syncwell.measure.slots import SlotHealth, WalTimeline, wal_size


def _timeline() -> WalTimeline:
    timeline = WalTimeline()
    for at, end in ((100.0, 1_000), (110.0, 2_000), (120.0, 2_000), (130.0, 5_000)):
        timeline.note(at, end)
    return timeline


def test_the_age_is_interpolated_between_two_notes_and_zero_at_the_end() -> None:
    """A position passed halfway between the notes at 100 s and 110 s is 40 s old at 145 s;
    the WAL's end itself is 0 s old; a position passed before the first note is as old as
    that note, or as the checkpoint that held it when that is older."""
    timeline = _timeline()
    assert timeline.age(1_500, 145.0) == 40.0
    assert timeline.age(5_000, 145.0) == 0.0
    assert timeline.age(500, 145.0) == 45.0
    assert timeline.age(500, 145.0, passed_by=40.0) == 105.0


def test_notes_no_slot_needs_are_forgotten() -> None:
    """Forgetting before 3,000 keeps the note just under it, so its age is unchanged."""
    timeline = _timeline()
    before = timeline.age(3_000, 200.0)
    timeline.forget_before(3_000)
    assert timeline.age(3_000, 200.0) == before
    assert timeline.passed_at(1_000) == 120.0  # older notes are gone: a lower bound now


@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=30), st.integers(0, 10**9))
def test_an_older_position_is_never_younger(ends: list[int], position: int) -> None:
    """Whatever the notes, a position further back in the WAL is at least as old."""
    timeline = WalTimeline()
    for second, end in enumerate(sorted(ends)):
        timeline.note(float(second), end)
    now = float(len(ends) + 5)
    assert timeline.age(max(0, position - 1000), now) >= timeline.age(position, now)


def test_sizes_read_as_people_read_them() -> None:
    """Bytes in powers of 1024, one decimal; unknown is a dash."""
    assert [wal_size(n) for n in (None, 512, 256_000, 3 * 2**30)] == [
        "-",
        "512 B",
        "250.0 kB",
        "3.0 GB",
    ]


def _health(slot: SlotHealth | None) -> FlowHealth:
    return FlowHealth(
        flow="rows", integration="copy", breaker_open=False, oldest_pending_age_s=None,
        freshness_slo_s=60.0, last_read_at=None, interval_s=None, started_at=0.0, slot=slot,
    )  # fmt: skip


def test_the_slot_wal_incident_opens_over_the_limit_and_closes_under_it() -> None:
    """Over `max_retained` opens (naming the slot, the WAL kept and the limit); a database
    not answering keeps it open; back under the limit closes it; a slot gone closes it too."""
    watch = IncidentWatch()
    over = SlotHealth("syncwell_w_rows", 3 * 2**20, 40.0, 2**20)
    (opened,) = watch.evaluate(1.0, [_health(over)])
    assert opened.opening and opened.cause == "slot_wal"
    assert "syncwell_w_rows keeps 3.0 MB of WAL, over the 1.0 MB allowed" in opened.detail
    unmeasured = SlotHealth("syncwell_w_rows", None, None, 2**20, error="connection refused")
    assert watch.evaluate(2.0, [_health(unmeasured)]) == []
    (closed,) = watch.evaluate(3.0, [_health(SlotHealth("syncwell_w_rows", 2**20, 1.0, 2**20))])
    assert not closed.opening
    assert watch.evaluate(4.0, [_health(unmeasured)]) == []  # not measured: nothing opens
    watch.evaluate(5.0, [_health(over)])
    gone = SlotHealth("syncwell_w_rows", None, None, 2**20, exists=False)
    (closed,) = watch.evaluate(6.0, [_health(gone)])
    assert not closed.opening
