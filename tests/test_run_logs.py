"""`syncwell run` without a terminal: log lines while it runs, as text or JSON (cli/runlog.py)."""

from __future__ import annotations

import asyncio
import json
import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

SYNCWELL = str(Path(sys.executable).parent / "syncwell")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """Two SQLite files and a flow polled every second; 300 rows to sync."""
    with sqlite3.connect(tmp_path / "a.db") as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL)")
        db.executemany("INSERT INTO t VALUES (?, '2026-01-01')", [(i,) for i in range(300)])
    with sqlite3.connect(tmp_path / "b.db") as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL)")
    path = tmp_path / "syncwell.yaml"
    path.write_text(
        "systems:\n  a: {kind: sqlite, path: a.db}\n  b: {kind: sqlite, path: b.db}\n"
        "flows:\n  f: {source: a, destination: b, stream: t, key: id, cursor: at, "
        "interval: 1s}\n"
    )
    return path


def _lines_until(process: subprocess.Popen[str], wanted: str, within_s: float) -> list[str]:
    """The lines the process wrote to its stdout pipe, until one holds `wanted` (while it
    runs, not at its exit) or `within_s` passes. Read off the pipe as they come: a buffered
    reader would hold lines that have arrived."""
    assert process.stdout is not None
    fd, got = process.stdout.fileno(), b""
    waiting = selectors.DefaultSelector()
    waiting.register(fd, selectors.EVENT_READ)
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline and wanted.encode() not in got.rpartition(b"\n")[0]:
        if waiting.select(timeout=max(0.0, deadline - time.monotonic())):
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            got += chunk
    complete, _, _ = got.rpartition(b"\n")  # a line cut by the deadline is left out
    return complete.decode().splitlines()


def _start(workspace: Path, *flags: str) -> subprocess.Popen[str]:
    env = {key: value for key, value in os.environ.items() if key != "SYNCWELL_LOG_FORMAT"}
    return subprocess.Popen(
        [SYNCWELL, "run", "-w", str(workspace), "--progress-every", "1s", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=workspace.parent,
    )


def _stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGTERM)
    rest, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors
    return rest, errors


def test_a_run_through_a_pipe_writes_progress_lines_while_it_runs(workspace: Path) -> None:
    """Before, nothing came until the run ended. Now, within seconds: what was written, then a
    progress line with the flow's read, written, backlog and rows/s."""
    process = _start(workspace)
    try:
        lines = _lines_until(process, " progress ", within_s=15)
    finally:
        rest, _ = _stop(process)
    assert process.returncode == 0
    written = [line for line in lines if " written " in line and "flow=f" in line]
    assert written, lines
    (progress, *_) = [line for line in lines if " progress " in line]
    for field in ("flow=f", "read=", "written=", "backlog=", "rows_per_s="):
        assert field in progress
    assert "run summary" in rest  # the table at the end, as before


def test_log_format_json_writes_one_object_a_line_with_event_and_flow(workspace: Path) -> None:
    """Every line on stdout parses as JSON, `progress` and `written` ones name their flow, and
    the run's end is `run ended` lines, not a table."""
    process = _start(workspace, "--log-format", "json")
    try:
        lines = _lines_until(process, '"progress"', within_s=15)
    finally:
        rest, _ = _stop(process)
    events = [json.loads(line) for line in [*lines, *rest.splitlines()]]
    assert all({"event", "level", "timestamp"} <= event.keys() for event in events)
    progress = [event for event in events if event["event"] == "progress"]
    assert progress and progress[0]["flow"] == "f"
    assert {"read", "written", "backlog", "rows_per_s", "failed_writes"} <= progress[0].keys()
    assert any(event["event"] == "written" and event["flow"] == "f" for event in events)
    (ended,) = [event for event in events if event["event"] == "run ended"]
    assert ended["written"] >= 300


def test_a_bad_progress_interval_exits_2_with_the_forms_it_takes(workspace: Path) -> None:
    process = subprocess.run(
        [SYNCWELL, "run", "-w", str(workspace), "--progress-every", "often"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 2
    assert "--progress-every 'often'" in process.stderr
    assert "Traceback" not in process.stderr


def test_failed_writes_and_the_incident_they_open_are_lines_as_they_happen(
    workspace: Path,
) -> None:
    """A destination without the flow's table: each failed write is a `write failed` line and,
    once the breaker has opened, the incident is an `incident opened` line, while it runs."""
    with sqlite3.connect(workspace.parent / "b.db") as db:
        db.execute("DROP TABLE t")
    workspace.write_text(
        workspace.read_text().replace(
            "b: {kind: sqlite, path: b.db}",
            "b: {kind: sqlite, path: b.db, retry: {base_s: 0.1, cap_s: 0.5}, "
            "breaker: {failure_threshold: 2, open_s: 1}}",
        )
    )
    process = _start(workspace, "--log-format", "json")
    try:
        lines = _lines_until(process, '"incident opened"', within_s=30)
    finally:
        _stop(process)
    events = [json.loads(line) for line in lines]
    failed = [event for event in events if event["event"] == "write failed"]
    assert failed and failed[0]["flow"] == "f" and "table t does not exist" in failed[0]["error"]
    (opened, *_) = [event for event in events if event["event"] == "incident opened"]
    assert opened["flow"] == "f" and opened["level"] == "warning"
    progress = [event for event in events if event["event"] == "progress"]
    assert progress and progress[-1]["failed_writes"] >= 1  # retries count once a batch is done


@pytest.mark.timeout(120)
async def test_a_worker_writes_what_it_delivers_as_log_lines(
    tmp_path: Path, pg_state_url: str
) -> None:
    """A distributed run (PostgreSQL state, NATS): before, a worker printed one line and then
    nothing until it stopped; now its writes and progress come as JSON lines as they happen."""
    from syncwell.transport import JetStreamSettings, JetStreamTransport

    name = f"logs-{uuid.uuid4().hex[:10]}"
    with sqlite3.connect(tmp_path / "a.db") as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL)")
        db.executemany("INSERT INTO t VALUES (?, '2026-01-01')", [(i,) for i in range(200)])
    with sqlite3.connect(tmp_path / "b.db") as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL)")
    workspace = tmp_path / "syncwell.yaml"
    workspace.write_text(
        f"name: {name}\nstate: {pg_state_url}\n"
        "transport: {url: 'nats://127.0.0.1:4222', partitions: 2, ack_wait_s: 2}\n"
        "systems:\n  a: {kind: sqlite, path: a.db}\n  b: {kind: sqlite, path: b.db}\n"
        "flows:\n  f: {source: a, destination: b, stream: t, key: id, cursor: at, "
        "interval: 1s}\n"
    )
    try:
        lines = await asyncio.to_thread(_worker_lines, workspace)
    finally:
        transport = await JetStreamTransport.connect(
            JetStreamSettings(workspace=name, partitions=2), {}
        )
        try:
            await transport.delete_stream()
        finally:
            await transport.close()
    events = [json.loads(line) for line in lines]
    assert any(event["event"] == "written" and event["flow"] == "f" for event in events)
    assert any(event["event"] == "progress" and event["flow"] == "f" for event in events)
    assert sum(event["changes"] for event in events if event["event"] == "written") >= 200


def _worker_lines(workspace: Path) -> list[str]:
    """A reader and a worker on `workspace`: the worker's stdout lines until it has written
    and logged its progress, then the rest up to its exit."""
    reader = subprocess.Popen(
        [SYNCWELL, "run", "-w", str(workspace)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=workspace.parent,
    )
    logs = ("--log-format", "json", "--progress-every", "1s")
    worker = subprocess.Popen(
        [SYNCWELL, "worker", "-w", str(workspace), *logs],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=workspace.parent,
    )
    try:
        lines = _lines_until(worker, '"event": "written"', within_s=60)
        lines += _lines_until(worker, '"event": "progress"', within_s=10)
    finally:
        rest, _ = _stop(worker)
        reader.send_signal(signal.SIGTERM)
        reader.wait(timeout=30)
    return [*lines, *rest.splitlines()]
