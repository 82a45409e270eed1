"""The http kind under the real engine: loaded from syncwell.yaml, read, written, dead-lettered."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from syncwell import Engine, load_workspace
from syncwell.store import open_store
from tests.connectors.http.api import ApiState

WORKSPACE = """
name: http-roundtrip
systems:
  app: {{kind: sqlite, path: app.db}}
  crm:
    kind: http
    base_url: {url}
    auth: {{type: bearer, token: s3cret}}
    retry: {{max_attempts: 2, base_s: 0.01, cap_s: 0.01}}
    streams:
      contacts:
        read:
          path: /secure/bearer/items
          records: results
      members:
        write:
          upsert:
            method: POST
            path: /api/lists/L1/members:batch
            body: {{members: "{{{{records}}}}"}}
            max_batch: 2
          errors: {{path: errors, index: index, message: message}}
flows:
  contacts_in:
    source: crm
    destination: app
    stream: contacts
    key: id
    cursor: updatedAt
    fields: {{id: id, properties.email: email, updatedAt: updated_at}}
  members_out:
    source: app
    destination: crm
    stream: subscribers
    target: members
    key: email
    cursor: version
"""


def _workspace(root: Path, url: str) -> Path:
    with sqlite3.connect(root / "app.db") as db:
        db.execute("CREATE TABLE contacts (id TEXT PRIMARY KEY, email TEXT, updated_at TEXT)")
        db.execute(
            "CREATE TABLE subscribers (email TEXT NOT NULL PRIMARY KEY, name TEXT, version INT)"
        )
        db.executemany(
            "INSERT INTO subscribers VALUES (?, ?, ?)",
            [("a@x.org", "A", 1), ("broken", "B", 2), ("c@x.org", "C", 3), ("d@x.org", "D", 4)],
        )
    path = root / "syncwell.yaml"
    path.write_text(WORKSPACE.format(url=url))
    return path


async def test_reads_into_sqlite_and_dead_letters_the_refused_member(
    api: ApiState, server_url: str, tmp_path: Path
) -> None:
    """Contacts land in SQLite with nested fields flattened; a refused member alone is dead."""
    api.reset(contacts=3)
    workspace = load_workspace(_workspace(tmp_path, server_url))
    await Engine(workspace).run(once=True)
    with sqlite3.connect(tmp_path / "app.db") as db:
        rows = db.execute("SELECT id, email FROM contacts ORDER BY id").fetchall()
    assert rows == [(f"c000{i}", f"user{i}@example.com") for i in range(3)]
    # A partial-success API applies the good members of a refused chunk; the engine's smaller
    # retries send them again, which an upsert by key makes harmless.
    assert {member["email"] for member in api.upserted} == {"a@x.org", "c@x.org", "d@x.org"}
    store = await open_store(workspace.state)
    try:
        letters = await store.dead_letters.list(flow="members_out")
    finally:
        await store.close()
    assert [(letter.key, letter.reason) for letter in letters] == [
        ("broken", "invalid email 'broken'")
    ]


THINGS_WORKSPACE = """
core: app
systems:
  app: {{kind: sqlite, path: app.db}}
  tool:
    kind: http
    base_url: {url}
    retry: {{max_attempts: 2, base_s: 0.01, cap_s: 0.01}}
    streams:
      things:
        write:
          update: {{path: "/things/{{id}}"}}
flows:
  things_out:
    source: app
    destination: tool
    stream: things
    key: id
    cursor: version
    deletes: {{detect: none}}
"""


async def test_a_record_deleted_in_the_tool_is_one_dead_letter_and_the_rest_arrive(
    api: ApiState, server_url: str, tmp_path: Path
) -> None:
    """Three core rows, one of them deleted in the tool (its PATCH answers 404): the other
    two are updated, the missing one is a dead letter that says so, and `run --once` ends
    (before, the whole batch failed, the breaker opened, and the run never ended)."""
    with sqlite3.connect(tmp_path / "app.db") as db:
        db.execute("CREATE TABLE things (id TEXT NOT NULL PRIMARY KEY, name TEXT, version INT)")
        db.executemany(
            "INSERT INTO things VALUES (?, ?, ?)", [(f"t{i}", f"N{i}", i) for i in range(3)]
        )
    api.reset()
    api.things.update({"t0": {"id": "t0"}, "t2": {"id": "t2"}})
    path = tmp_path / "syncwell.yaml"
    path.write_text(THINGS_WORKSPACE.format(url=server_url))
    workspace = load_workspace(path)
    await asyncio.wait_for(Engine(workspace).run(once=True), timeout=60)
    assert api.things["t0"]["name"] == "N0" and api.things["t2"]["name"] == "N2"
    assert "t1" not in api.things
    store = await open_store(workspace.state)
    try:
        letters = await store.dead_letters.list(flow="things_out")
    finally:
        await store.close()
    assert [letter.key for letter in letters] == ["t1"]
    assert "missing in tool" in letters[0].reason
