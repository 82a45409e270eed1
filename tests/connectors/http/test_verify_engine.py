"""Proof that a write stuck, under the real engine: a tracker on loopback that answers 200 and
drops a field (as a tracker drops `done_ratio` on parent issues) is caught by reading the
issues back, counted per field, shown in `status --json`, the REST API, the dashboard and
`/metrics`, and opens an incident; a tracker that keeps everything shows no drift."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from syncwell import Engine, load_workspace
from syncwell.api import create_app
from syncwell.cli import app as cli
from syncwell.store import open_store
from tests.asgi import serving
from tests.connectors.http import tracker
from tests.connectors.http.tracker import Tracker, TrackerServer, tracker_workspace

ROWS = [(1, "parent", 50), (2, "child a", 100), (3, "child b", 0)]


@pytest.fixture(scope="module")
def tracker_url() -> Iterator[str]:
    with TrackerServer() as url:
        yield url


@pytest.fixture
def state(tracker_url: str) -> Tracker:
    return tracker.reset()


def _workspace(
    root: Path, url: str, verify: str = "", rows: list[tuple[int, str, int | None]] = ROWS
) -> Path:
    with sqlite3.connect(root / "app.db") as db:
        db.execute(
            "CREATE TABLE tasks (id INTEGER PRIMARY KEY, subject TEXT, done_ratio INT, version INT)"
        )
        db.executemany("INSERT INTO tasks VALUES (?, ?, ?, 1)", rows)
    path = root / "syncwell.yaml"
    flow = {"verify": yaml.safe_load(verify)} if verify else None
    path.write_text(tracker_workspace(url, ("subject", "done_ratio"), flow=flow))
    return path


def _edit_all(root: Path, version: int) -> None:
    with sqlite3.connect(root / "app.db") as db:
        db.execute("UPDATE tasks SET subject = subject || '!', version = ?", (version,))


async def _run(path: Path) -> Engine:
    engine = Engine(load_workspace(path))
    await engine.run(once=True)
    return engine


async def _viewer(path: Path) -> str:
    store = await open_store(load_workspace(path).state)
    try:
        _, secret = await store.tokens.create("viewer", "test")
    finally:
        await store.close()
    return secret


async def _status(path: Path) -> dict[str, object]:
    """`syncwell status --json`'s entry for the one flow (the CLI runs its own event loop)."""
    args = ["status", "-w", str(path), "--json"]
    result = await asyncio.to_thread(CliRunner().invoke, cli, args)
    assert result.exit_code == 0, result.output
    (flow,) = json.loads(result.output)
    assert isinstance(flow, dict)
    return flow


async def test_a_field_the_tracker_drops_is_drift_counted_per_field_and_shown_everywhere(
    state: Tracker, tracker_url: str, tmp_path: Path
) -> None:
    """The tracker answers 200 to every issue and keeps no done_ratio: each of the three
    issues read back is drift on done_ratio alone (subject stuck), in the store, status
    --json, GET /api/v1/flows, the integration's dashboard page and /metrics, and the
    flow's drift incident opens naming the field. Before, all three counted as delivered
    and nothing said otherwise."""
    state.ignored = frozenset({"done_ratio"})
    path = _workspace(tmp_path, tracker_url)
    engine = await _run(path)
    assert state.posts == 3  # the tracker took them all, it said

    flow = await _status(path)
    verification = flow["verification"]
    assert isinstance(verification, dict)
    assert (verification["verified"], verification["drifted"], verification["missing"]) == (3, 3, 0)
    (drift,) = verification["fields"]
    assert drift["field"] == "done_ratio" and drift["drifted"] == 3
    assert (drift["last_sent"], drift["last_read"]) in {
        ("50", "absent"),
        ("100", "absent"),
        ("0", "absent"),
    }

    viewer = await _viewer(path)
    headers = {"authorization": f"Bearer {viewer}"}
    async with serving(create_app(engine), headers=headers) as client:
        (answer,) = (await client.get("/api/v1/flows")).json()
        page = await client.get("/integrations/tracker")
        metrics = await client.get("/metrics")
        incidents = (await client.get("/api/v1/incidents")).json()
    assert answer["verification"]["fields"][0]["field"] == "done_ratio"
    assert answer["verification"]["drifted"] == 3
    assert page.status_code == 200
    assert "Writes read back" in page.text and "done_ratio" in page.text
    families = {f.name: f for f in text_string_to_metric_families(metrics.text)}
    by_field = {s.labels["field"]: s.value for s in families["syncwell_field_drift"].samples}
    assert by_field == {"done_ratio": 3}
    assert families["syncwell_verified_records"].samples[0].value == 3
    assert families["syncwell_drifted_records"].samples[0].value == 3
    (incident,) = [i for i in incidents if i["cause"] == "drift"]
    assert incident["closed_at"] is None and "done_ratio did not stick" in incident["detail"]

    store = await open_store(load_workspace(path).state)
    try:
        minutes = await store.measurements.read(since=0)
    finally:
        await store.close()
    assert sum(int(m["verified"]) for m in minutes) == 3  # type: ignore[call-overload]
    assert sum(int(m["drifted"]) for m in minutes) == 3  # type: ignore[call-overload]


async def test_no_drift_when_the_tracker_keeps_every_field(
    state: Tracker, tracker_url: str, tmp_path: Path
) -> None:
    """The same writes to a tracker that keeps everything: three issues read back, none
    different, no drift series in /metrics and no incident."""
    path = _workspace(tmp_path, tracker_url)
    engine = await _run(path)
    verification = (await _status(path))["verification"]
    assert isinstance(verification, dict)
    assert (verification["verified"], verification["drifted"], verification["fields"]) == (3, 0, [])
    families = {f.name: f for f in engine_metrics(engine)}
    assert families["syncwell_field_drift"].samples == []
    assert families["syncwell_verified_records"].samples[0].value == 3
    store = await open_store(load_workspace(path).state)
    try:
        assert await store.incidents.list() == []
    finally:
        await store.close()


async def test_the_incident_needs_more_drift_than_its_threshold(
    state: Tracker, tracker_url: str, tmp_path: Path
) -> None:
    """One issue of three carries a done_ratio the tracker drops (the others send none, and
    none read back is the same as null): one record of three drifts, 33%, counted, but under
    `drift_incident_above: 0.5` no incident opens."""
    state.ignored = frozenset({"done_ratio"})
    rows: list[tuple[int, str, int | None]] = [(1, "parent", 50), (2, "a", None), (3, "b", None)]
    path = _workspace(tmp_path, tracker_url, "{drift_incident_above: 0.5}", rows)
    await _run(path)
    verification = (await _status(path))["verification"]
    assert isinstance(verification, dict)
    assert (verification["verified"], verification["drifted"]) == (3, 1)
    store = await open_store(load_workspace(path).state)
    try:
        assert await store.incidents.list() == []
    finally:
        await store.close()


async def test_the_drift_incident_closes_once_the_field_sticks_again(
    state: Tracker, tracker_url: str, tmp_path: Path
) -> None:
    """A run over a tracker that drops done_ratio opens the incident; the tracker is fixed
    and every row edited: although the flow is past its `first: 3`, it keeps reading back
    while it drifts, finds every field stuck, and the incident closes."""
    state.ignored = frozenset({"done_ratio"})
    path = _workspace(tmp_path, tracker_url, "{first: 3}")
    await _run(path)
    state.ignored = frozenset()
    _edit_all(tmp_path, 2)
    await _run(path)
    verification = (await _status(path))["verification"]
    assert isinstance(verification, dict)
    assert (verification["verified"], verification["drifted"]) == (6, 3)
    store = await open_store(load_workspace(path).state)
    try:
        (incident,) = await store.incidents.list()
    finally:
        await store.close()
    assert incident.cause == "drift" and incident.closed_at is not None


async def test_only_the_first_records_are_read_back_unless_kept_on(
    state: Tracker, tracker_url: str, tmp_path: Path
) -> None:
    """With `first: 2`, two of the three issues are read back and a later edit of all of
    them reads back none; `always: true` reads back every write."""
    path = _workspace(tmp_path, tracker_url, "{first: 2}")
    await _run(path)
    _edit_all(tmp_path, 2)
    await _run(path)
    verification = (await _status(path))["verification"]
    assert isinstance(verification, dict)
    assert verification["verified"] == 2

    kept = tmp_path / "kept"
    kept.mkdir()
    tracker.reset()
    path = _workspace(kept, tracker_url, "{first: 2, always: true}")
    await _run(path)
    _edit_all(kept, 2)
    await _run(path)
    verification = (await _status(path))["verification"]
    assert isinstance(verification, dict)
    assert verification["verified"] == 6


def engine_metrics(engine: Engine) -> list[object]:
    """The engine's /metrics families, read from its collector."""
    from syncwell.measure.prometheus import SyncwellCollector

    return list(SyncwellCollector("w", engine.observer.samples).collect())
