"""Incidents open when a flow turns unhealthy and close with a time to resolve."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from syncwell import Engine, load_workspace
from syncwell.cli import app
from syncwell.measure import FlowHealth, IncidentWatch
from syncwell.store import open_store
from tests.waiting import until, until_true
from tests.webhook_receiver import SECRET, Receiver


def _health(**changes: object) -> FlowHealth:
    values: dict[str, object] = {
        "flow": "f", "integration": "crm", "breaker_open": False, "oldest_pending_age_s": None,
        "freshness_slo_s": 60.0, "last_read_at": 0.0, "interval_s": 10.0, "started_at": 0.0,
    }  # fmt: skip
    values.update(changes)
    return FlowHealth(**values)  # type: ignore[arg-type]


def test_each_rule_opens_once_and_closes_on_recovery() -> None:
    """Breaker, freshness (after 5 min of breach) and stalled reads, each opened then closed."""
    watch = IncidentWatch()
    opened = watch.evaluate(5.0, [_health(breaker_open=True)])
    assert [(c.opening, c.cause) for c in opened] == [(True, "breaker_open")]
    assert watch.evaluate(6.0, [_health(breaker_open=True)]) == []  # still open: no repeat
    assert [(c.opening, c.cause) for c in watch.evaluate(7.0, [_health(last_read_at=7.0)])] == [
        (False, "breaker_open")
    ]
    late = _health(oldest_pending_age_s=120.0, last_read_at=100.0)
    assert watch.evaluate(100.0, [late]) == []  # breached, not yet for 5 minutes
    late = _health(oldest_pending_age_s=420.0, last_read_at=400.0)
    (fresh,) = watch.evaluate(400.0, [late])
    assert fresh.cause == "freshness" and "SLO" in fresh.detail
    (stalled,) = [c for c in watch.evaluate(500.0, [late]) if c.cause == "stalled"]
    assert stalled.opening and "intervals" in stalled.detail


async def test_a_missing_target_table_opens_a_breaker_incident_that_closes_when_fixed(
    tmp_path: Path, receiver: Receiver
) -> None:
    """Writes fail until the table exists: an incident opens, then closes with its TTR;
    `syncwell incidents --json` lists it, and the alert webhook heard both, signed."""
    with sqlite3.connect(tmp_path / "a.db") as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL)")
        db.executemany("INSERT INTO t VALUES (?, ?)", [(i, "2026-01-01") for i in range(10)])
    sqlite3.connect(tmp_path / "b.db").close()
    (tmp_path / "syncwell.yaml").write_text(
        "systems:\n"
        "  a: {kind: sqlite, path: a.db}\n"
        "  b: {kind: sqlite, path: b.db, retry: {base_s: 0.01, cap_s: 0.05, max_attempts: 2},"
        " breaker: {failure_threshold: 2, open_s: 0.3, max_open_s: 0.3}}\n"
        "flows:\n  f: {source: a, destination: b, stream: t, key: id, cursor: at, interval: 1s}\n"
        f"alerts: {{url: '{receiver.url}', secret: '{SECRET}'}}\n"
    )
    workspace = load_workspace(tmp_path / "syncwell.yaml")
    engine = Engine(workspace, measure_every_s=0.1)
    stop = asyncio.Event()
    running = asyncio.create_task(engine.run(stop=stop))
    # Once the writes are failing, the incident is only a flush away.
    await until(lambda: engine.progress["f"].failed_attempts > 0, within_s=20)
    store = await open_store(workspace.state)
    try:
        await until_true(lambda: _has(store, open_only=True), within_s=20, every_s=0.1)
        with sqlite3.connect(tmp_path / "b.db") as db:
            db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL)")
        await until_true(lambda: _closed(store), within_s=20, every_s=0.1)
    finally:
        stop.set()
        await running
        await store.close()
    arguments = ["incidents", "-w", str(tmp_path / "syncwell.yaml"), "--json"]
    result = await asyncio.to_thread(CliRunner().invoke, app, arguments)  # it runs its own loop
    assert result.exit_code == 0, result.output
    (incident,) = [i for i in json.loads(result.output) if i["cause"] == "breaker_open"]
    assert incident["flow"] == "f" and incident["resolve_s"] > 0
    await until(lambda: len(_alerts(receiver)) >= 2, within_s=10)
    assert _alerts(receiver)[:2] == ["incident.opened", "incident.closed"]


def _alerts(receiver: Receiver) -> list[str]:
    return [
        str(r.payload["type"])
        for r in receiver.received
        if r.payload["data"].get("cause") == "breaker_open"
    ]


async def _has(store: object, *, open_only: bool) -> bool:
    return any(i.cause == "breaker_open" for i in await store.incidents.list(open_only=open_only))  # type: ignore[attr-defined]


async def _closed(store: object) -> bool:
    found = await store.incidents.list()  # type: ignore[attr-defined]
    return any(i.cause == "breaker_open" and i.closed_at is not None for i in found)


def test_a_success_rate_under_the_slo_opens_and_recovery_closes() -> None:
    """93% of attempts succeeding against a 99% SLO opens an incident; 100% closes it."""
    watch = IncidentWatch()
    (opened,) = watch.evaluate(1.0, [_health(success_rate=0.93, last_read_at=1.0)])
    assert opened.cause == "success_rate" and "93.0%" in opened.detail
    (closed,) = watch.evaluate(3.0, [_health(success_rate=1.0, last_read_at=3.0)])
    assert not closed.opening and closed.cause == "success_rate"


async def test_a_running_engine_keeps_analyses_and_announces_a_move(
    tmp_path: Path, receiver: Receiver
) -> None:
    """Analysing every 0.3 s, a run of a flow polled every 20 minutes against a 5-minute SLO
    keeps analyses naming it, and the alert webhook hears `constraint.moved` once (from none
    to b), not at every analysis."""
    for name in ("a", "b"):
        with sqlite3.connect(tmp_path / f"{name}.db") as db:
            db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL)")
    (tmp_path / "syncwell.yaml").write_text(
        "core: a\nsystems:\n  a: {kind: sqlite, path: a.db}\n  b: {kind: sqlite, path: b.db}\n"
        "flows:\n  f: {source: a, destination: b, stream: t, key: id, cursor: at, "
        "interval: 20m, slo: {freshness: 5m}}\n"
        f"alerts: {{url: '{receiver.url}', secret: '{SECRET}'}}\n"
    )
    workspace = load_workspace(tmp_path / "syncwell.yaml")
    engine = Engine(workspace, measure_every_s=0.1, analyse_every_s=0.3)
    stop = asyncio.Event()
    running = asyncio.create_task(engine.run(stop=stop))
    store = await open_store(workspace.state)
    try:
        await until_true(lambda: _analyses(store, 3), within_s=20, every_s=0.1)
        kept = await store.analyses.list()
    finally:
        stop.set()
        await running
        await store.close()
    assert {(a.integration, a.reason) for a in kept} == {("b", "poll_interval")}
    await until(
        lambda: any(r.payload["type"] == "constraint.moved" for r in receiver.received),
        within_s=10,
    )
    (moved,) = [r.payload for r in receiver.received if r.payload["type"] == "constraint.moved"]
    assert (moved["data"]["before"], moved["data"]["after"]) == (None, "b")


async def _analyses(store: object, count: int) -> bool:
    return len(await store.analyses.list()) >= count  # type: ignore[attr-defined]


def test_a_cdc_flow_with_no_successful_read_for_a_minute_is_stalled() -> None:
    """A `mode: cdc` flow has no interval, yet a stream that has not read for a minute opens
    `stalled` and closes on the next read; a refused stream is its own incident, not this."""
    watch = IncidentWatch()
    streaming = _health(interval_s=None, streams=True)
    assert watch.evaluate(59.0, [streaming]) == []  # under a minute: a quiet table
    (stalled,) = watch.evaluate(61.0, [streaming])
    assert stalled.opening and stalled.cause == "stalled" and "61 s" in stalled.detail
    (closed,) = watch.evaluate(62.0, [_health(interval_s=None, streams=True, last_read_at=62.0)])
    assert not closed.opening and closed.cause == "stalled"
    refused = _health(interval_s=None, streams=True, refused="column dropped")
    assert [c.cause for c in IncidentWatch().evaluate(120.0, [refused])] == ["refused"]
    assert IncidentWatch().evaluate(120.0, [_health(interval_s=None)]) == []  # webhooks only
