"""Two-way sync with a real Parse Server, which sets `createdAt` and `updatedAt` itself and
answers 400 to a write that carries them (issue 12: every record was dead-lettered until an
`item:` template listed the writable fields by hand)."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path

import httpx

from syncwell import Engine, load_workspace
from syncwell.store import open_store
from tests.realtools.conftest import ParseServer

WORKSPACE = """
name: parse-two-way
core: core
systems:
  core: {{kind: sqlite, path: core.db}}
  parse:
    kind: http
    base_url: {url}
    headers: {{X-Parse-Application-Id: {app_id}}}
    auth: {{type: api_key, header: X-Parse-Master-Key, key: {master_key}}}
    retry: {{max_attempts: 2, base_s: 0.2}}
    streams:
      contacts:
        read: {{path: /classes/{cls}, params: {{order: objectId}}, records: results}}
        write:
          update: {{method: PUT, path: "/classes/{cls}/{{objectId}}"}}
flows:
  contacts_in:
    source: parse
    destination: core
    stream: contacts
    key: objectId
    cursor: updatedAt
    fields: [objectId, name, createdAt, updatedAt]
    deletes: {{detect: none}}
  contacts_out:
    source: core
    destination: parse
    stream: contacts
    key: objectId
    cursor: updatedAt
    fields: [objectId, name, createdAt, updatedAt]
    deletes: {{detect: none}}
"""


async def test_an_edit_in_the_core_reaches_parse_without_the_fields_parse_sets(
    tmp_path: Path, parse_server: ParseServer
) -> None:
    """Three contacts come from Parse into the core; one renamed in the core is written back
    with no `createdAt` or `updatedAt` (Parse's 400 before: the edit was a dead letter), and
    Parse holds the new name with its own timestamps."""
    cls = f"Contact_{uuid.uuid4().hex[:8]}"
    headers = {
        "X-Parse-Application-Id": parse_server.app_id,
        "X-Parse-Master-Key": parse_server.master_key,
    }
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        ids = []
        for i in range(3):
            made = await client.post(f"{parse_server.url}/classes/{cls}", json={"name": f"N{i}"})
            assert made.status_code == 201, made.text
            ids.append(made.json()["objectId"])
        with sqlite3.connect(tmp_path / "core.db") as db:
            db.execute(
                "CREATE TABLE contacts (objectId TEXT NOT NULL PRIMARY KEY, name TEXT,"
                " createdAt TEXT, updatedAt TEXT)"
            )
        path = tmp_path / "syncwell.yaml"
        server = parse_server
        path.write_text(
            WORKSPACE.format(url=server.url, app_id=server.app_id, master_key=server.master_key,
                             cls=cls)
        )  # fmt: skip
        workspace = load_workspace(path)

        async def run_once() -> None:
            engine = Engine(workspace, analyse_every_s=None)
            await asyncio.wait_for(engine.run(once=True), timeout=120)

        await run_once()
        with sqlite3.connect(tmp_path / "core.db") as db:
            assert db.execute("SELECT count(*) FROM contacts").fetchone() == (3,)
            db.execute(
                "UPDATE contacts SET name = 'Renamed in core', updatedAt = ? WHERE objectId = ?",
                ("2099-01-01T00:00:00.000Z", ids[1]),
            )
        await run_once()

        answer = await client.get(f"{server.url}/classes/{cls}/{ids[1]}")
        record = answer.json()
        assert record["name"] == "Renamed in core"
        assert record["updatedAt"] < "2099"  # Parse's own time, not the core's
    store = await open_store(workspace.state)
    try:
        assert await store.dead_letters.list(flow="contacts_out") == []
    finally:
        await store.close()
