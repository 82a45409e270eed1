"""A write retried behind a 503 shows its error in `status` while it is retried, not only once
the batch is given up (issue 15, point 6): a row every ten seconds, not one a try."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from syncwell.engine import Engine, admin
from syncwell.engine.reading import FailureNotes
from syncwell.errors import TransientError
from syncwell.store import open_store
from syncwell.testing import FakeClock
from syncwell.workspace import load_workspace
from tests.waiting import until
from tests.webhook_receiver import Receiver

WORKSPACE = """
name: notes
systems:
  app: {{kind: sqlite, path: app.db}}
  partner:
    kind: webhook_out
    url: {url}
    secret: {secret}
    allow_private_networks: true
    retry: {{schedule: [200ms, 200ms, 200ms, 200ms, 200ms, 200ms, 200ms, 200ms, 200ms, 200ms]}}
    breaker: {{failure_threshold: 100}}
flows:
  contacts: {{source: app, destination: partner, stream: contacts, key: id, cursor: version}}
"""


async def test_a_write_retried_behind_503s_shows_its_error_while_it_is_retried(
    tmp_path: Path, receiver: Receiver
) -> None:
    with sqlite3.connect(tmp_path / "app.db") as db:
        db.execute("CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT, version INTEGER)")
        db.execute("INSERT INTO contacts VALUES (1, 'Ada', 1)")
    for _ in range(30):
        receiver.answer(1, 503)
    path = tmp_path / "syncwell.yaml"
    path.write_text(WORKSPACE.format(url=receiver.url, secret=receiver.secret))
    workspace = load_workspace(path)
    engine = Engine(workspace)
    stop = asyncio.Event()
    running = asyncio.create_task(engine.run(stop=stop))
    try:
        await until(lambda: len(receiver.received) >= 3, within_s=10)
        (report,) = await admin.flow_reports(workspace)
        # Still retrying the first batch (ten tries, 2 s): nothing was given up yet.
        assert engine.progress["contacts"].written == 0
        assert engine.progress["contacts"].retries >= 2  # counted while they happen
        assert report.failures_24h >= 1
        assert report.last_failure is not None and "503" in report.last_failure
    finally:
        stop.set()
        await running


async def test_failed_tries_are_kept_one_per_flow_and_stage_every_ten_seconds(
    tmp_path: Path,
) -> None:
    store = await open_store(f"sqlite:///{tmp_path / 'state.db'}")
    clock = FakeClock()
    notes = FailureNotes(store, clock)
    try:
        for _ in range(5):
            await notes.note("a", "write", TransientError("503 from the partner"))
            clock.advance(1)
        await notes.note("a", "read", TransientError("refused"))
        await notes.note("b", "write", TransientError("503"))
        clock.advance(6)  # ten seconds after the first
        await notes.note("a", "write", TransientError("503 again"))
        assert await store.failures.newest("a", error_class="TransientError", since=0) == (
            "503 again"
        )
    finally:
        await store.close()
    with sqlite3.connect(tmp_path / "state.db") as db:
        kept = db.execute("SELECT flow, stage, message FROM failures ORDER BY id").fetchall()
    assert kept == [
        ("a", "write", "503 from the partner"),
        ("a", "read", "refused"),
        ("b", "write", "503"),
        ("a", "write", "503 again"),
    ]
