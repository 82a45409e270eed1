"""CircuitBreaker: open after failures in a row, one probe per open spell, back off to a cap."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given
from hypothesis import strategies as st

from syncwell.engine.policies import BreakerState, CircuitBreaker
from syncwell.testing import FakeClock
from syncwell.workspace.policies import BreakerPolicy

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


@dataclass
class Watched:
    """A breaker on a fake clock with every transition recorded as (old, new, time)."""

    policy: BreakerPolicy
    clock: FakeClock = field(default_factory=FakeClock)
    changes: list[tuple[BreakerState, BreakerState, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.breaker = CircuitBreaker(
            self.policy,
            self.clock,
            "crm",
            on_change=lambda old, new: self.changes.append((old, new, self.clock.now())),
        )

    def fail(self, times: int = 1) -> None:
        for _ in range(times):
            self.breaker.record_failure()


def watched(threshold: int = 3, open_s: float = 10.0, max_open_s: float = 40.0) -> Watched:
    return Watched(BreakerPolicy(failure_threshold=threshold, open_s=open_s, max_open_s=max_open_s))


def test_starts_closed_and_allows() -> None:
    """A new breaker is closed and lets every delivery through."""
    w = watched()
    assert w.breaker.state is CLOSED
    assert all(w.breaker.allow() for _ in range(100))
    assert w.breaker.wait_s() == 0.0


def test_opens_at_the_threshold_not_before() -> None:
    """Two failures of a threshold of three keep it closed; the third opens it."""
    w = watched(threshold=3)
    w.fail(2)
    assert w.breaker.state is CLOSED
    w.fail()
    assert w.breaker.state is OPEN
    assert not w.breaker.allow()
    assert w.changes == [(CLOSED, OPEN, 0.0)]


def test_a_success_resets_the_count() -> None:
    """Failures must be in a row: a success in between starts the count again."""
    w = watched(threshold=3)
    w.fail(2)
    w.breaker.record_success()
    w.fail(2)
    assert w.breaker.state is CLOSED
    assert w.breaker.consecutive_failures == 2


def test_one_probe_after_the_open_time() -> None:
    """Open for open_s: refused before, then exactly one probe, then refused while it runs."""
    w = watched(threshold=1, open_s=10.0)
    w.fail()
    w.clock.advance(9.0)
    assert not w.breaker.allow()
    assert w.breaker.wait_s() == 1.0
    w.clock.advance(1.0)
    assert w.breaker.wait_s() == 0.0
    assert w.breaker.allow()
    assert w.breaker.state is HALF_OPEN
    assert not any(w.breaker.allow() for _ in range(10))


def test_probe_success_closes() -> None:
    """A successful probe closes the breaker and everything flows again."""
    w = watched(threshold=1, open_s=10.0)
    w.fail()
    w.clock.advance(10.0)
    assert w.breaker.allow()
    w.breaker.record_success()
    assert w.breaker.state is CLOSED
    assert w.breaker.allow()
    assert [(old, new) for old, new, _ in w.changes] == [
        (CLOSED, OPEN),
        (OPEN, HALF_OPEN),
        (HALF_OPEN, CLOSED),
    ]


def test_failed_probes_double_the_open_time_up_to_the_max() -> None:
    """Each failed probe doubles the open time: 10, 20, 40, then stays at the 40 s maximum."""
    w = watched(threshold=1, open_s=10.0, max_open_s=40.0)
    w.fail()
    spells = []
    for _ in range(4):
        spells.append(w.breaker.wait_s())
        w.clock.advance(w.breaker.wait_s())
        assert w.breaker.allow()
        w.fail()
    assert spells == [10.0, 20.0, 40.0, 40.0]


def test_a_success_resets_the_open_time() -> None:
    """After recovery the next outage starts again from open_s, not the doubled time."""
    w = watched(threshold=1, open_s=10.0)
    w.fail()
    w.clock.advance(10.0)
    w.breaker.allow()
    w.fail()  # open for 20 s now
    w.clock.advance(20.0)
    w.breaker.allow()
    w.breaker.record_success()
    w.fail()
    assert w.breaker.wait_s() == 10.0


def test_late_failures_while_open_change_nothing() -> None:
    """Failures of deliveries that started before the breaker opened do not extend the spell."""
    w = watched(threshold=1, open_s=10.0)
    w.fail()
    w.clock.advance(5.0)
    w.fail(3)
    assert w.breaker.wait_s() == 5.0


def test_a_cancelled_probe_frees_the_slot() -> None:
    """A probe that never ran (cancelled) lets the next allow() probe instead."""
    w = watched(threshold=1, open_s=10.0)
    w.fail()
    w.clock.advance(10.0)
    assert w.breaker.allow()
    assert not w.breaker.allow()
    w.breaker.record_cancelled()
    assert w.breaker.wait_s() == 0.0
    assert w.breaker.allow()
    assert not w.breaker.allow()


def test_opened_total_counts_every_spell_including_the_current_one() -> None:
    """Time not closed adds up across outages, and the outage still running counts so far."""
    w = watched(threshold=1, open_s=10.0)
    w.clock.advance(100.0)
    w.fail()
    w.clock.advance(10.0)
    w.breaker.allow()
    w.clock.advance(2.0)
    w.breaker.record_success()  # first spell: 12 s
    w.clock.advance(50.0)
    w.fail()
    w.clock.advance(3.0)  # second spell, still open: 3 s so far
    assert w.breaker.opened_total_s() == 15.0


ops = st.lists(
    st.one_of(
        st.sampled_from(["allow", "success", "failure", "cancel"]),
        st.floats(min_value=0.0, max_value=100.0),
    ),
    max_size=200,
)


@given(
    threshold=st.integers(min_value=1, max_value=6),
    open_s=st.floats(min_value=0.5, max_value=30.0),
    factor=st.floats(min_value=1.0, max_value=20.0),
    steps=ops,
)
def test_invariants_hold_for_any_sequence(
    threshold: int, open_s: float, factor: float, steps: list[str | float]
) -> None:
    """For any order of calls, outcomes and time: at most one probe is out, the breaker opens
    only after `threshold` failures in a row, and each open spell lasts between open_s and
    max_open_s before a probe goes."""
    w = watched(threshold=threshold, open_s=open_s, max_open_s=open_s * factor)
    b = w.breaker
    in_a_row = 0  # failures recorded while closed since the last success
    probes_out = 0
    opened_at = 0.0
    spent = 0.0
    for step in steps:
        before = b.state
        changes_before = len(w.changes)
        if isinstance(step, float):
            w.clock.advance(step)
        elif step == "allow":
            allowed = b.allow()
            if before is CLOSED:
                assert allowed
            if allowed and b.state is HALF_OPEN:
                probes_out += 1
                waited = w.clock.now() - opened_at
                if before is OPEN:
                    assert waited >= b.open_s - 1e-9
        else:
            if step == "success":
                b.record_success()
                in_a_row = 0
            elif step == "failure":
                in_a_row += before is CLOSED
                b.record_failure()
            else:
                b.record_cancelled()
            probes_out = 0
        assert probes_out <= 1
        for old, new, at in w.changes[changes_before:]:
            if new is OPEN:
                opened_at = at
                assert open_s <= b.open_s <= max(open_s, open_s * factor)
            if old is CLOSED and new is OPEN:
                assert in_a_row == threshold
            if new is CLOSED:
                in_a_row = 0
        assert b.opened_total_s() >= spent - 1e-9
        spent = b.opened_total_s()
        assert spent <= w.clock.now() + 1e-9
