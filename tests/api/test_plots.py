"""An integration's plots and the incidents timeline, from measured rows and incidents."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from syncwell.api.dashboard.plots import bucket_s, integration_series
from syncwell.api.dashboard.timeline import incident_timeline
from syncwell.store import Incident
from syncwell.store.schema import measurements

_COLUMNS = [column.name for column in measurements.columns]
_T0 = 1_795_000_000 // 3600 * 3600  # on the hour: minute buckets line up


def _row(flow: str, start: int, **values: float) -> dict[str, object]:
    """A stored minute as `Measurements.history` gives it: every column, zero unless given."""
    return {**dict.fromkeys(_COLUMNS, 0), "flow": flow, "start": start, **values}


def test_buckets_are_whole_minutes_then_whole_hours() -> None:
    """About a hundred buckets a window, a minute at least, whole hours past two days."""
    assert bucket_s(3600) == 60 and bucket_s(86400) == 840 and bucket_s(7 * 86400) == 2 * 3600


def test_each_measure_is_computed_per_bucket_and_a_stopped_engine_is_a_gap() -> None:
    """Lag is the mean over batches (each records its lag once), throughput per measured
    second, the error rate failed requests over all requests (reads that failed included, so
    a source that is down is at 100%), retries and refusals per measured minute; a minute the
    engine did not run is None (a gap), not a zero, and so is lag where nothing was written."""
    rows = [
        _row("f", _T0, measured_s=30, changes_out=60, batches=3, lag_sum_s=120, attempts=8,
             reads=2, retries_transient=1, dead_lettered=1),
        _row("f", _T0 + 60, measured_s=60, attempts=4, reads=3, read_failures=1,
             retries_rate_limited=3),
        _row("g", _T0, measured_s=30, changes_out=30, batches=1),
        _row("g", _T0 + 60, measured_s=60, read_failures=5),
    ]  # fmt: skip
    series = integration_series(rows, ["f", "g"], since=_T0, until=_T0 + 3600)
    lag, throughput, errors = (
        {s.name: [v for _, v in s.points] for s in measure}
        for measure in (series.lag, series.throughput, series.errors)
    )
    assert lag["f"][:3] == [40.0, None, None]  # 120 s over 3 batches; none written; stopped
    assert throughput["f"][:3] == [2.0, 0.0, None] and throughput["g"][:3] == [1.0, 0.0, None]
    assert errors["f"][:2] == [0.1, 0.5]  # 1 retry of 10 requests; (3 retries + 1 read) of 8
    assert errors["g"][:2] == [None, 1.0]  # nothing tried; then every read failed
    per_minute = {s.name: [v for _, v in s.points][:2] for s in series.retries}
    assert per_minute == {
        "transient": [2.0, 0.0],  # 1 retry in 30 s measured
        "rate limited": [0.0, 3.0],
        "timeout": [0.0, 0.0],
        "refused": [2.0, 0.0],
    }
    assert all(_T0 <= x <= _T0 + 3600 for s in series.lag for x, _ in s.points)


def test_the_timeline_draws_open_incidents_red_and_names_each() -> None:
    """A lane per integration (those of the workspace first), a bar per incident that says
    in its tooltip how long it took to resolve; an open one runs to now, in red."""
    incidents = [
        Incident(1, "crm", "contacts", "breaker_open", "crm is down", _T0 + 600, _T0 + 900),
        Incident(2, "email", "audience", "stale", "no success for 3 intervals", _T0 + 1800, None),
    ]
    svg = incident_timeline(incidents, ["crm", "projects"], since=_T0, until=_T0 + 3600)
    root = ET.fromstring(svg)
    bars = root.findall("{http://www.w3.org/2000/svg}rect") or root.findall("rect")
    titles = [
        bar.findtext("title") or bar.findtext("{http://www.w3.org/2000/svg}title") for bar in bars
    ]
    assert titles[0] == "contacts: breaker_open (resolved in 5m) crm is down"
    assert titles[1] is not None and "(open)" in titles[1]
    assert [bar.get("fill") for bar in bars] == ["#ef6c00", "#c62828"]
    lanes = [
        t.text for t in root.iter() if t.tag.endswith("text") and t.get("text-anchor") == "end"
    ]
    assert lanes == ["crm", "projects", "email"]
