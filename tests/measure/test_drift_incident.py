"""The `drift` incident: opens when more of the records read back lately drifted than the
flow allows, stays open while nothing new is read back, closes on evidence."""

from __future__ import annotations

from syncwell.measure import DriftWindow, FlowHealth, IncidentWatch


def _health(window: DriftWindow | None) -> FlowHealth:
    return FlowHealth(
        flow="f",
        integration="tracker",
        breaker_open=False,
        oldest_pending_age_s=None,
        freshness_slo_s=60.0,
        last_read_at=0.0,
        interval_s=None,
        started_at=0.0,
        drift=window,
    )


def _changes(watch: IncidentWatch, window: DriftWindow | None) -> list[tuple[bool, str]]:
    return [(c.opening, c.detail) for c in watch.evaluate(1.0, [_health(window)])]


def test_drift_above_the_threshold_opens_names_the_fields_and_closes_on_clean_reads() -> None:
    """3 of 10 drifted with 10% allowed opens, naming done_ratio; an empty window keeps it
    open (nothing showed the drift gone); 0 of 10 closes it."""
    watch = IncidentWatch()
    ((opening, detail),) = _changes(watch, DriftWindow(10, 3, 0.1, ("done_ratio",)))
    assert opening and detail.startswith("3 of 10 records read back")
    assert "(30%, above 10%): done_ratio did not stick" in detail
    assert _changes(watch, DriftWindow(0, 0, 0.1)) == []  # no evidence either way: still open
    assert _changes(watch, DriftWindow(10, 0, 0.1)) == [(False, "")]


def test_drift_at_or_under_the_threshold_or_unverified_opens_nothing() -> None:
    """1 of 10 with 10% allowed is not above it; a flow that reads nothing back, or is not
    verified at all, opens nothing."""
    watch = IncidentWatch()
    assert _changes(watch, DriftWindow(10, 1, 0.1)) == []
    assert _changes(watch, DriftWindow(0, 0, 0.0)) == []
    assert _changes(watch, None) == []
