"""Freshness runs on the source's clock (DESIGN.md, lessons; issue 13 point 3): a change's lag
starts when it happened, by its record's timestamp or its webhook's event time, else at the
poll bound, and a time that cannot be the change's (ahead of ours, before the previous read,
not a time at all) falls back to that bound."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import time
from pathlib import Path

import pytest

from syncwell import copytext
from syncwell.engine import Engine
from syncwell.engine.changetimes import AHEAD_S, ChangeTimes, instant, lag_clocks, oldest_instant
from syncwell.engine.webhooks import EventRouter
from syncwell.store import open_store
from syncwell.types import ChangeBatch
from syncwell.workspace import Workspace, load_workspace, parse_workspace
from tests.waiting import until

NOW = 1_790_000_000.0
"""A wall clock reading for the unit tests (2026-09-21)."""

_WORKSPACE = """
systems:
  crm:
    kind: http
    base_url: http://127.0.0.1:9
    webhooks: {secret: whsec_c3luY3dlbGw=, streams: {"contact.*": contacts}}
    streams: {contacts: {read: {path: /contacts, records: results}}}
  core: {kind: sqlite, path: core.db}
  app: {kind: sqlite, path: app.db}
flows:
  leads: {source: crm, destination: core, stream: contacts, key: email, cursor: updated_at,
          fields: [email, updated_at], mode: realtime}
  rows: {source: core, destination: app, stream: t, key: id, cursor: at}
  numbered: {source: core, destination: app, stream: n, key: id, cursor: seq}
  whole: {source: core, destination: app, stream: w, key: id}
  by_hand: {source: core, destination: crm, stream: t, target: contacts, key: id, mode: manual}
"""


def _iso(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Wall:
    """A wall clock the test moves."""

    def __init__(self) -> None:
        self.at = NOW

    def __call__(self) -> float:
        return self.at


def _workspace() -> Workspace:
    return parse_workspace(_WORKSPACE)


def _after_one_read(flow: str) -> tuple[ChangeTimes, _Wall]:
    """Change times whose flow had one whole read, begun 30 s ago."""
    wall = _Wall()
    wall.at = NOW - 30
    times = ChangeTimes(_workspace().flows.values(), wall)
    times.read_started(flow)
    times.read_finished(flow)
    wall.at = NOW
    times.read_started(flow)
    return times, wall


def _page(column: str, *values: object) -> ChangeBatch:
    return ChangeBatch(("id", column), [(i, v) for i, v in enumerate(values)], observed_at=NOW)


def test_cursor_values_are_read_as_times_and_what_is_not_a_time_is_none() -> None:
    """Datetimes (naive as UTC), ISO text in its common forms, and Unix counts in seconds, ms,
    µs or ns are times; a date alone, a small sequence number, a flag and text are not."""
    aware = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    expected = aware.timestamp()
    assert instant(aware) == expected
    assert instant(dt.datetime(2026, 1, 1)) == expected
    for text in ("2026-01-01T00:00:00Z", "2026-01-01 00:00:00+00", "2026-01-01T01:00:00+01:00"):
        assert instant(text) == expected, text
    for count in (expected, int(expected * 1e3), int(expected * 1e6), int(expected * 1e9)):
        assert instant(count) == pytest.approx(expected, abs=1e-3), count
    assert instant(str(int(expected))) == expected
    for not_a_time in ("2026-01-01", 42, 7_000_000, True, "soon", None, dt.date(2026, 1, 1)):
        assert instant(not_a_time) is None, not_a_time


def test_the_oldest_time_on_a_page_is_found_whatever_the_form_of_its_values() -> None:
    """ISO texts of mixed precision, where text order is not time order (`…00.5Z` sorts before
    `…00Z`), naive and aware datetimes together, numbers, and a COPY page's first line."""
    assert oldest_instant(_page("at", "2026-01-01T00:00:01Z", "2026-01-01T00:00:00.5Z"), "at") == (
        dt.datetime(2026, 1, 1, 0, 0, 0, 500000, tzinfo=dt.UTC).timestamp()
    )
    uniform = [_iso(NOW - 5), _iso(NOW - 9), None, _iso(NOW - 1)]
    assert oldest_instant(_page("at", *uniform), "at") == pytest.approx(NOW - 9, abs=1e-3)
    mixed = [
        dt.datetime.fromtimestamp(NOW - 3, dt.UTC),
        dt.datetime.fromtimestamp(NOW - 4, dt.UTC).replace(tzinfo=None),
    ]
    assert oldest_instant(_page("at", *mixed), "at") == pytest.approx(NOW - 4, abs=1e-3)
    assert oldest_instant(_page("at", NOW - 2, NOW - 7), "at") == NOW - 7
    assert oldest_instant(_page("at", 3, 1, 2), "at") is None  # a sequence
    assert oldest_instant(_page("at", _iso(NOW)), "other") is None
    lines = f"1\t{_iso(NOW - 8)}\n2\t{_iso(NOW - 6)}\n".encode()
    copy = ChangeBatch(("id", "at"), (), copy_text=lines)
    assert oldest_instant(copy, "at") == pytest.approx(NOW - 8, abs=1e-3)
    assert copytext.line_count(lines) == 2


def test_a_page_of_a_later_read_is_as_old_as_its_oldest_record() -> None:
    """Records changed 12 s and 20 s ago, found by a read begun now: the page is 20 s old,
    so its lag includes the 20 s it waited for the poll (before: it was as old as the read)."""
    times, _ = _after_one_read("rows")
    page = _page("at", _iso(NOW - 12), _iso(NOW - 20))
    assert times.page("rows", page, incremental=True).observed_at == pytest.approx(
        NOW - 20, abs=1e-3
    )


def test_times_that_cannot_be_the_change_fall_back_to_the_poll_bound() -> None:
    """The previous read began 30 s ago: a record stamped an hour ago (a clock behind ours, a
    late commit) counts from that read's start; one stamped a minute ahead, and a cursor that
    is a sequence number, count from there too; a few ms ahead is now."""
    bound = NOW - 30
    times, _ = _after_one_read("rows")
    assert times.page("rows", _page("at", _iso(NOW - 3600)), incremental=True).observed_at == bound
    ahead = _page("at", _iso(NOW + 60))
    assert times.page("rows", ahead, incremental=True).observed_at == bound
    nearly = _page("at", _iso(NOW + AHEAD_S / 2))
    assert times.page("rows", nearly, incremental=True).observed_at == pytest.approx(NOW, abs=1e-3)
    numbered, _ = _after_one_read("numbered")
    sequence = _page("seq", 17, 18)
    assert numbered.page("numbered", sequence, incremental=True).observed_at == bound


def test_without_a_cursor_a_change_counts_from_the_start_of_the_read_before() -> None:
    """A flow read whole every time: what a read finds happened after the previous one began."""
    times, _ = _after_one_read("whole")
    page = ChangeBatch(("id",), [(1,)], observed_at=NOW)
    assert times.page("whole", page, incremental=False).observed_at == NOW - 30


def test_the_first_read_of_a_run_and_a_backfill_count_from_when_they_were_read() -> None:
    """No earlier read bounds the first one, and month-old records of a first sync are not
    late: both keep the time they were read at."""
    wall = _Wall()
    times = ChangeTimes(_workspace().flows.values(), wall)
    times.read_started("rows")
    old = _page("at", _iso(NOW - 86400 * 30))
    assert times.page("rows", old, incremental=True).observed_at == NOW
    times.read_finished("rows")
    times.read_started("rows")
    assert times.page("rows", old, incremental=False).observed_at == NOW


def test_a_read_cut_short_does_not_move_the_bound() -> None:
    """Only a read that went to its end proves what happened after it began."""
    times, wall = _after_one_read("whole")
    wall.at = NOW + 10
    times.read_started("whole")  # never finished
    times.read_started("whole")
    page = ChangeBatch(("id",), [(1,)], observed_at=NOW)
    assert times.page("whole", page, incremental=False).observed_at == NOW - 30


def _event(updated_at: object, kind: str = "contact.updated") -> dict[str, object]:
    return {"id": "e1", "type": kind, "data": {"email": "a@x.com", "updated_at": updated_at}}


def test_a_webhook_change_is_as_old_as_its_record_says() -> None:
    """The record changed 7 s before the sender signed the event: its lag starts there. A
    delete (whose record shows its last update), a record stamped ahead of our clock and one
    without a time count from the signature; a record older than the last reconciliation's
    start counts from that start."""
    times, wall = _after_one_read("leads")
    router = EventRouter(_workspace(), times)
    signed = NOW - 1
    changed = router.event("crm", None, signed, _event(_iso(NOW - 8)))
    assert changed.observed_at == pytest.approx(NOW - 8, abs=1e-3)
    for body in (
        _event(_iso(NOW - 8), "contact.deleted"),
        _event(_iso(NOW + 120)),
        _event(None),
    ):
        assert router.event("crm", None, signed, body).observed_at == signed, body
    assert router.event("crm", None, signed, _event(_iso(NOW - 3600))).observed_at == NOW - 30
    wall.at = NOW + 5
    assert EventRouter(_workspace()).event(
        "crm", None, signed, _event(_iso(NOW - 8))
    ).observed_at == (signed), "without change times, the signature's time as before"


def test_each_flows_clock_is_named_as_configured() -> None:
    """Webhooks: event time; a cursor: record timestamps; none: the poll bound; manual: none."""
    assert lag_clocks(_workspace()) == {
        "leads": "event",
        "rows": "record",
        "numbered": "record",
        "whole": "poll",
        "by_hand": None,
    }


async def test_a_poll_flows_lag_includes_the_wait_for_the_poll(tmp_path: Path) -> None:
    """A row made half a second after a read, on a flow read every 3 s against a 2 s SLO,
    waits about 2.5 s for the next read: the measured lag says so and counts it late. (Before,
    lag started at the read that found it: a few milliseconds, never late.)"""
    for name in ("a", "b"):
        with sqlite3.connect(tmp_path / f"{name}.db") as db:
            db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL)")
    (tmp_path / "syncwell.yaml").write_text(
        "systems:\n  a: {kind: sqlite, path: a.db}\n  b: {kind: sqlite, path: b.db}\n"
        "flows:\n  f: {source: a, destination: b, stream: t, key: id, cursor: at,"
        " lookback: 0s, interval: 3s, slo: {freshness: 2s}}\n"
    )
    workspace = load_workspace(tmp_path / "syncwell.yaml")
    engine = Engine(workspace, measure_every_s=60)
    progress = engine.progress["f"]
    stop = asyncio.Event()
    running = asyncio.create_task(engine.run(stop=stop))
    try:
        await until(lambda: progress.reads >= 2, within_s=15, every_s=0.01)
        reads = progress.reads
        await until(lambda: progress.reads > reads, within_s=15, every_s=0.01)  # one just ended
        await asyncio.sleep(0.5)
        with sqlite3.connect(tmp_path / "a.db") as db:
            db.execute("INSERT INTO t VALUES (1, ?)", (_iso(time.time()),))
        await until(lambda: progress.written >= 1, within_s=15)
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=20)
    store = await open_store(workspace.state)
    try:
        rows = await store.measurements.read(since=0, flow="f")
    finally:
        await store.close()
    lag_max = max(float(str(row["lag_max_s"])) for row in rows)
    assert 2.0 <= lag_max <= 6.0, lag_max
    assert sum(int(str(row["late"])) for row in rows) == 1
