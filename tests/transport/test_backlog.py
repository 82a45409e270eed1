"""The backlog of a distributed run counts what waits in the stream: a reader that relayed a
flow's changes with no worker to deliver them leaves the journal empty (backlog 0) and the
stream full, and `status`, `/api/v1/flows` and the dashboard say how much waits there; when
the stream cannot be read they say so, never a silent 0."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import uuid
from pathlib import Path

import nats
import nats.js.errors
from typer.testing import CliRunner

from syncwell import load_workspace
from syncwell.api import create_app
from syncwell.cli import app
from syncwell.engine import Engine
from syncwell.store import open_store
from syncwell.workspace import Workspace
from tests.asgi import serving
from tests.scenarios.crmkit import free_port
from tests.waiting import until_true

runner = CliRunner()
_ROWS = 120


def _workspace(root: Path, state: str, name: str, url: str = "nats://127.0.0.1:4222") -> Path:
    with sqlite3.connect(root / "core.db") as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL)")
        db.executemany(
            "INSERT INTO t VALUES (?, ?)",
            [(i, f"2026-01-01 00:00:{i % 60:02d}") for i in range(_ROWS)],
        )
        db.execute("CREATE TABLE q (id INTEGER PRIMARY KEY, at TEXT NOT NULL)")
    with sqlite3.connect(root / "dest.db") as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT)")
        db.execute("CREATE TABLE q (id INTEGER PRIMARY KEY, at TEXT)")
    path = root / "syncwell.yaml"
    path.write_text(
        f"name: {name}\nstate: {state}\ncore: core\n"
        f"transport: {{url: '{url}', partitions: 4}}\n"
        "systems:\n"
        "  core: {kind: sqlite, path: core.db}\n"
        "  dest: {kind: sqlite, path: dest.db}\n"
        "flows:\n"
        "  rows: {source: core, destination: dest, stream: t, key: id, cursor: at,"
        " lookback: 0s, interval: 1h, batch_size: 30}\n"
        "  quiet: {source: core, destination: dest, stream: q, key: id, cursor: at,"
        " lookback: 0s, interval: 1h}\n"
    )
    return path


async def _journal_empty(workspace: Workspace) -> bool:
    store = await open_store(workspace.state)
    try:
        backlog = await store.journal.backlog()
    finally:
        await store.close()
    return sum(pending for _, pending, _ in backlog.values()) == 0


async def _relayed_without_workers(workspace: Workspace) -> None:
    """A reader (`syncwell run` with the transport) until it has read every row and relayed
    the journal to the stream; no worker runs."""
    stop = asyncio.Event()
    running = asyncio.create_task(Engine(workspace, analyse_every_s=None).run(stop=stop))
    try:
        await until_true(lambda: _relayed(workspace, running), within_s=60, every_s=0.3)
    finally:
        stop.set()
        await running


async def _relayed(workspace: Workspace, running: asyncio.Task[None]) -> bool:
    if running.done():
        running.result()  # its failure, if it failed
    store = await open_store(workspace.state)
    try:
        reports = await store.reports.flows(["rows"])
    finally:
        await store.close()
    return reports[0].checkpoint is not None and await _journal_empty(workspace)


async def _messages(name: str, flow: str) -> int:
    """How many messages of `flow` the stream holds, as NATS itself counts them."""
    client = await nats.connect("nats://127.0.0.1:4222")
    try:
        info = await client.jetstream().stream_info(
            f"SYNCWELL_{name}", subjects_filter=f"syncwell.{name}.{flow}.*"
        )
    finally:
        await client.close()
    return sum((info.state.subjects or {}).values())


async def _delete_stream(name: str) -> None:
    client = await nats.connect("nats://127.0.0.1:4222")
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await client.jetstream().delete_stream(f"SYNCWELL_{name}")
    await client.close()


async def test_status_and_the_api_count_what_waits_in_the_stream(
    tmp_path: Path, pg_state_url: str
) -> None:
    name = f"backlog-{uuid.uuid4().hex[:10]}"
    path = _workspace(tmp_path, pg_state_url, name)
    workspace = load_workspace(path)
    try:
        await _relayed_without_workers(workspace)
        waiting = await _messages(name, "rows")
        assert waiting >= 4  # 120 rows: at least one message on each of the 4 partitions
        result = await asyncio.to_thread(runner.invoke, app, ["status", "-w", str(path), "--json"])
        assert result.exit_code == 0, result.output
        found = {r["flow"]: r for r in json.loads(result.output)}
        assert found["rows"]["backlog"] == 0  # what the journal holds: all relayed
        assert found["rows"]["in_stream"] == waiting and found["rows"]["stream_error"] == ""
        assert found["quiet"]["in_stream"] == 0
        text = await asyncio.to_thread(runner.invoke, app, ["status", "-w", str(path)])
        assert "waiting in the stream" in text.output and f"rows {waiting}" in text.output

        store = await open_store(workspace.state)
        try:
            _, token = await store.tokens.create("viewer")
        finally:
            await store.close()
        async with serving(create_app(workspace=workspace)) as client:
            bearer = {"authorization": f"Bearer {token}"}
            answer = await client.get("/api/v1/flows", headers=bearer)
            page = await client.get("/integrations/dest", headers=bearer)
        assert answer.status_code == 200, answer.text
        flows = {r["flow"]: r for r in answer.json()}
        assert flows["rows"]["backlog"] == 0 and flows["rows"]["in_stream"] == waiting
        assert page.status_code == 200 and f"+ {waiting} in stream" in page.text
    finally:
        await _delete_stream(name)


async def test_a_stream_out_of_reach_is_said_not_counted_as_zero(
    tmp_path: Path, pg_state_url: str
) -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    path = _workspace(tmp_path, pg_state_url, f"backlog-{uuid.uuid4().hex[:10]}", url)
    result = await asyncio.to_thread(runner.invoke, app, ["status", "-w", str(path), "--json"])
    assert result.exit_code == 0, result.output
    for report in json.loads(result.output):
        assert report["in_stream"] is None
        assert f"NATS at {url} cannot be reached" in report["stream_error"]
    text = await asyncio.to_thread(runner.invoke, app, ["status", "-w", str(path)])
    assert "the stream could not be read" in " ".join(text.output.split())


async def test_without_a_transport_nothing_changes(tmp_path: Path) -> None:
    path = _workspace(tmp_path, f"sqlite:///{tmp_path / 'state.db'}", "embedded")
    path.write_text(
        path.read_text().replace("transport: {url: 'nats://127.0.0.1:4222', partitions: 4}\n", "")
    )
    result = await asyncio.to_thread(runner.invoke, app, ["status", "-w", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert [(r["in_stream"], r["stream_error"]) for r in json.loads(result.output)] == [
        (None, ""),
        (None, ""),
    ]
