"""The analysis reads the store: rollups, incidents, dead letters, and keeps what it found."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from syncwell.analyze import Reason, analyze, gather, moves
from syncwell.analyze.facts import poison_field
from syncwell.analyze.trend import Trend
from syncwell.measure import FlowMinute, MinuteRecorder
from syncwell.store import DeadLetter, open_store
from syncwell.types import ChangeBatch
from tests.analyze.kit import tools_workspace

FLOWS = {
    "contacts": "crm -> core, interval: 30s, slo: {freshness: 5m}",
    "tasks": "core -> project, interval: 30s, slo: {freshness: 5m}",
}
NOW = 1_800_000_000.0


class Wall:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def _letter(reason: str, columns: tuple[str, ...] = ("id", "email", "name")) -> DeadLetter:
    batch = ChangeBatch(columns, [tuple(f"v{i}" for i in range(len(columns)))])
    return DeadLetter(1, "f", "k", "upsert", "1", reason, "RecordRejectedError", 1, "open", 0.0,
                      None, None, None, batch)  # fmt: skip


def test_the_poison_field_is_the_column_most_reasons_name() -> None:
    """Two of three reasons name email: email it is, with one of those reasons."""
    letters = [
        _letter("email: not a valid address"),
        _letter("field email is malformed"),
        _letter("rejected by a rule"),
    ]
    assert poison_field(letters) == ("email", "email: not a valid address")


def test_no_poison_field_when_reasons_disagree() -> None:
    """Reasons that name different columns, none in most of them: no field is blamed."""
    letters = [_letter("email bad"), _letter("name bad"), _letter("other"), _letter("other")]
    assert poison_field(letters)[0] is None


@pytest.fixture
async def state(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state.db'}"


async def test_an_analysis_reads_minutes_and_incidents_and_is_kept(state: str) -> None:
    """Minutes flushed for 10 minutes with the CRM's breaker open half of them, and two
    incidents (5 and 3 minutes to resolve): the CRM is the constraint for outages, the mean
    time to resolve is 4 minutes, and the analysis is kept for the history."""
    workspace = tools_workspace(FLOWS).model_copy(update={"state": state})
    store = await open_store(state)
    try:
        wall = Wall(NOW - 600)
        recorder = MinuteRecorder(wall)
        for minute in range(10):
            wall.at = NOW - 600 + minute * 60
            for flow in ("contacts", "tasks"):
                recorder.took_in(flow, 10)
                recorder.delivered(
                    flow, written=10, attempts=1, retries_transient=0, retries_rate_limited=0,
                    dead_lettered=0, write_s=0.05, lag_s=1.0,
                )  # fmt: skip
            wall.at += 59.999  # sampled at the minute's end: it measured the whole minute
            recorder.sampled("contacts", backlog=0, breaker_open_s=30.0, headroom=None)
            recorder.sampled("tasks", backlog=0, breaker_open_s=0.0, headroom=None)
            await store.measurements.add([m.as_row() for m in recorder.drain()])
        for opened, took in ((NOW - 580, 300), (NOW - 200, 180)):
            await store.incidents.open("crm", "contacts", "breaker_open", "down", opened)
            await store.incidents.close("contacts", "breaker_open", opened + took)

        analysis = await analyze(store, workspace=workspace, window_s=3600, at=NOW)
        assert analysis.constraint is not None
        assert (analysis.constraint.integration, analysis.constraint.reason) == (
            "crm",
            Reason.OUTAGES,
        )
        assert analysis.constraint.incidents == 2
        assert analysis.constraint.mean_resolve_s == 240
        assert analysis.constraint.incident_open_s == 480
        by_flow = {v.flow: v for v in analysis.flows}
        assert by_flow["contacts"].downtime_share == pytest.approx(0.5, rel=1e-3)
        assert by_flow["tasks"].demand_per_min == pytest.approx(10.0, rel=1e-3)

        what_if = await analyze(
            store, workspace=workspace, window_s=3600, at=NOW, what_if=["volume=2x"]
        )
        assert what_if.what_if == ("volume=2x",)
        kept = await store.analyses.list()
        assert [(a.integration, a.reason) for a in kept] == [("crm", "outages")]  # not the what-if
    finally:
        await store.close()


async def test_history_shows_each_move_of_the_constraint(state: str) -> None:
    """Analyses naming crm, crm, then project (crm healthy again), then none: three moves,
    each with why."""
    workspace = tools_workspace(FLOWS).model_copy(update={"state": state})
    store = await open_store(state)
    try:
        plans = [(0, "contacts"), (1, "contacts"), (2, "tasks"), (3, None)]
        for step, broken in plans:
            at = NOW + step * 7200
            recorder = MinuteRecorder(Wall(at - 60))
            for flow in ("contacts", "tasks"):
                recorder.took_in(flow, 10)
                down = 60.0 if flow == broken else 0.0
                recorder.sampled(flow, backlog=0, breaker_open_s=down, headroom=None)
            await store.measurements.add([m.as_row() for m in recorder.drain()])
            await analyze(store, workspace=workspace, window_s=3600, at=at)
        found = moves(await store.analyses.list())
    finally:
        await store.close()
    assert [(m.before, m.after) for m in found] == [
        (None, "crm"),
        ("crm", "project"),
        ("project", None),
    ]
    assert "crm is now within its SLO" in found[1].why
    assert found[2].after_reason is None


async def test_the_trend_comes_from_the_store_scaled_to_whole_days(state: str) -> None:
    """Five days, each measured for one hour, with 100, 110, ... changes in that hour: the
    store gives the days scaled to 24 hours, and leaves out days not measured enough (30
    minutes)."""
    workspace = tools_workspace(FLOWS).model_copy(update={"state": state})
    today = int(NOW // 86400 * 86400)
    store = await open_store(state)
    try:
        rows = []
        for day in range(5):
            start = today - (5 - day) * 86400
            minutes = 60 if day != 2 else 30  # day 2 is too short to count
            for minute in range(minutes):
                rows.append(
                    _minute(
                        "tasks", start + minute * 60, (100 + 10 * day) // 10 if minute < 10 else 0
                    )
                )
        await store.measurements.add(rows)
        facts = await gather(store, workspace, window_s=3600, at=NOW)
    finally:
        await store.close()
    days = [24.0 * (100 + 10 * day) for day in range(5)]
    days[2] = math.nan
    padded = [math.nan] * 23 + days  # the last 28 days, oldest first
    expected = Trend.from_days(padded)
    found = facts.flows["tasks"].trend
    assert found is not None and expected is not None
    assert found.days == expected.days == 4
    assert found.last == expected.last == 27
    assert [x for x, _ in found.points] == [x for x, _ in expected.points]
    assert [y for _, y in found.points] == pytest.approx([y for _, y in expected.points])
    assert facts.flows["contacts"].trend is None


def _minute(flow: str, minute: int, changes: int) -> dict[str, object]:
    return FlowMinute(flow, minute, measured_s=60.0, changes_in=changes).as_row()
