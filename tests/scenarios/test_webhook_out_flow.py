"""A flow into webhook_out: signed events out, the retry schedule, then dead letters."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from syncwell import Engine, load_workspace
from syncwell.store import open_store
from tests.webhook_receiver import SECRET, Receiver

WORKSPACE = """
name: out
systems:
  app: {{kind: sqlite, path: app.db}}
  partner:
    kind: webhook_out
    url: {url}
    secret: {secret}
    allow_private_networks: true
    retry: {{schedule: [50ms, 50ms]}}
    breaker: {{failure_threshold: 100}}
flows:
  contacts:
    source: app
    destination: partner
    stream: contacts
    key: id
    cursor: version
"""


def _workspace(root: Path, url: str) -> Path:
    with sqlite3.connect(root / "app.db") as db:
        db.execute("CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT, version INTEGER)")
        db.executemany(
            "INSERT INTO contacts VALUES (?, ?, ?)", [(i, f"p{i}@x.io", i) for i in range(1, 6)]
        )
    path = root / "syncwell.yaml"
    path.write_text(WORKSPACE.format(url=url, secret=SECRET))
    return path


async def test_an_event_failing_every_scheduled_attempt_is_dead_lettered_alone(
    tmp_path: Path, receiver: Receiver
) -> None:
    """Key 3 answers 500 to all 3 scheduled attempts: it alone is a dead letter, once sent."""
    for _ in range(10):
        receiver.answer(3, 500)
    workspace = load_workspace(_workspace(tmp_path, receiver.url))
    assert workspace.systems["partner"].retry.max_attempts == 3
    engine = Engine(workspace)
    await engine.run(once=True)
    assert {int(r.payload["data"]["id"]) for r in receiver.received} == {1, 2, 3, 4, 5}
    assert [len(receiver.about(key)) for key in range(1, 6)] == [1, 1, 4, 1, 1]
    store = await open_store(workspace.state)
    try:
        letters = await store.dead_letters.list(flow="contacts")
    finally:
        await store.close()
    assert [letter.key for letter in letters] == ["3"]
    assert "gave up after 3 attempts" in letters[0].reason
    assert engine.progress["contacts"].dead_lettered == 1


def test_webhook_out_systems_retry_on_the_standard_webhooks_schedule(tmp_path: Path) -> None:
    """Without a `retry:` of its own, webhook_out retries over about a day, then dead-letters."""
    path = _workspace(tmp_path, "https://hooks.example.com/in")
    path.write_text(path.read_text().replace("    retry: {schedule: [50ms, 50ms]}\n", ""))
    retry = load_workspace(path).systems["partner"].retry
    assert retry.exhausted == "dead_letter" and retry.max_attempts == 8
    assert 86_000 < sum(wait.total_seconds() for wait in retry.schedule) < 100_000
