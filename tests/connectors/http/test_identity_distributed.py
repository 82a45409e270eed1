"""The identity map in a distributed run: state in PostgreSQL, changes on NATS JetStream,
`syncwell worker` processes writing to a tracker that assigns its own ids and never answers
409. The ids the workers learn are kept with each delivery, so an edit delivered by a worker
updates the issue made first, never a second one, and a delete goes by the kept id."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from syncwell.store import IdentityScope, open_store
from syncwell.transport import JetStreamSettings, JetStreamTransport
from tests.connectors.http import tracker
from tests.connectors.http.tracker import ISSUES_WRITE, Tracker, TrackerServer, tracker_workspace
from tests.scenarios.runs import SYNCWELL
from tests.waiting import until

ROWS = 30


@pytest.fixture(scope="module")
def tracker_url() -> Iterator[str]:
    with TrackerServer() as url:
        yield url


@pytest.fixture
def state(tracker_url: str) -> Tracker:
    return tracker.reset()


@contextlib.contextmanager
def _started(args: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("w") as output:
        process = subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


def _workspace(root: Path, url: str, state_url: str, name: str) -> Path:
    with sqlite3.connect(root / "app.db") as db:
        db.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, subject TEXT, version INT)")
        db.executemany(
            "INSERT INTO tasks VALUES (?, ?, 1)", [(i, f"task {i}") for i in range(1, ROWS + 1)]
        )
    flow = {"interval": "1s", "batch_size": 7, "deletes": {"detect": "scan", "every": "0s"}}
    document = yaml.safe_load(tracker_workspace(url, ("subject",), write=ISSUES_WRITE, flow=flow))
    document = {
        "name": name,
        "state": state_url,
        "transport": {"url": "nats://127.0.0.1:4222", "partitions": 2, "ack_wait_s": 2},
        **document,
    }
    path = root / "syncwell.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.mark.timeout(180)
async def test_workers_update_and_delete_by_the_ids_the_tracker_assigned(
    state: Tracker, tracker_url: str, tmp_path: Path, pg_state_url: str
) -> None:
    """30 tasks become 30 issues through two workers; every task is then edited and one
    deleted: 29 issues carry the edit, 30 PUTs to the ids of the first creates, 0 POSTs
    more, 1 DELETE, and the identity map in PostgreSQL holds 29 ids."""
    name = f"ids-{uuid.uuid4().hex[:10]}"
    path = _workspace(tmp_path, tracker_url, pg_state_url, name)
    run = [SYNCWELL, "run", "-w", str(path), "--no-serve"]
    work = [SYNCWELL, "worker", "-w", str(path)]
    try:
        with (
            _started(run, tmp_path / "run.log"),
            _started(work, tmp_path / "worker-a.log"),
            _started(work, tmp_path / "worker-b.log"),
        ):
            await until(lambda: len(state.issues) >= ROWS, within_s=90)
            with sqlite3.connect(tmp_path / "app.db") as db:
                db.execute("UPDATE tasks SET subject = subject || ' (edited)', version = 2")
                db.execute("DELETE FROM tasks WHERE id = 7")

            def edited() -> bool:
                subjects = [issue["subject"] for issue in state.issues.values()]
                return len(subjects) == ROWS - 1 and all(s.endswith("(edited)") for s in subjects)

            await until(edited, within_s=90)
    finally:
        transport = await JetStreamTransport.connect(
            JetStreamSettings(workspace=name, partitions=2), {}
        )
        try:
            await transport.delete_stream()
        finally:
            await transport.close()
    assert (state.posts, state.deletes) == (ROWS, 1)
    assert state.puts == ROWS - 1  # the deleted task's edit was read with its delete
    store = await open_store(pg_state_url)
    try:
        scope = IdentityScope("tracker", "issues", "app")
        assert await store.identities.count(scope) == (ROWS - 1, 0)
        assert await store.dead_letters.list() == []
    finally:
        await store.close()
    for log in ("run.log", "worker-a.log", "worker-b.log"):
        assert "Traceback" not in (tmp_path / log).read_text()
