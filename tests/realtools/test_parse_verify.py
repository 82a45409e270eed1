"""Read-after-write verification against a real Parse Server, through `syncwell run --once`:
a field Parse takes with 200 and never stores (`createdAt`, which Parse sets itself) is drift
on that field alone, shown by `syncwell status` and opening the flow's drift incident; the same
flow without it reads every object back as sent."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from syncwell import load_workspace
from syncwell.store import open_store
from tests.realtools.conftest import ParseServer
from tests.scenarios.runs import SYNCWELL

WORKSPACE = """
name: parse-verify
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
        write:
          ids: {{field: objectId}}
          create: {{path: /classes/{cls}, body: {body}}}
          update: {{method: PUT, path: "/classes/{cls}/{{objectId}}", body: {body}}}
          delete: {{path: "/classes/{cls}/{{objectId}}"}}
flows:
  contacts_out:
    source: core
    destination: parse
    stream: contacts
    key: id
    cursor: version
    lookback: 0s
    fields: {{id: coreId, email: email, name: name, version: version{more}}}
    deletes: {{detect: none}}
"""
BODY = '{coreId: "{{record.coreId}}", email: "{{record.email}}", name: "{{record.name}}"}'
# Parse sets createdAt itself: sent as a Parse Date, it answers 200 and keeps its own time.
WITH_CREATED_AT = BODY[:-1] + ', createdAt: {__type: Date, iso: "{{record.createdAt}}"}}'
ROWS = [
    (1, "ada@verify.example", "Ada", "2020-01-01T00:00:00.000Z"),
    (2, "bob@verify.example", "Bob", "2020-01-02T00:00:00.000Z"),
    (3, "cy@verify.example", "Cy", "2020-01-03T00:00:00.000Z"),
]


def _workspace(root: Path, server: ParseServer, *, created_at: bool) -> tuple[Path, str]:
    """A core of three contacts written to a new Parse class; the class's name."""
    with sqlite3.connect(root / "core.db") as db:
        db.execute(
            "CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT, name TEXT,"
            " signed_up TEXT, version INT NOT NULL DEFAULT 1)"
        )
        db.executemany("INSERT INTO contacts (id, email, name, signed_up) VALUES (?,?,?,?)", ROWS)
    cls = f"Verify_{uuid.uuid4().hex[:8]}"
    path = root / "syncwell.yaml"
    path.write_text(
        WORKSPACE.format(
            url=server.url,
            app_id=server.app_id,
            master_key=server.master_key,
            cls=cls,
            body=WITH_CREATED_AT if created_at else BODY,
            more=", signed_up: createdAt" if created_at else "",
        )
    )
    return path, cls


def _syncwell(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SYNCWELL, *args], capture_output=True, text=True, timeout=120, check=False
    )


async def _objects(server: ParseServer, cls: str) -> list[dict[str, object]]:
    headers = {"X-Parse-Application-Id": server.app_id, "X-Parse-Master-Key": server.master_key}
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        answer = await client.get(f"{server.url}/classes/{cls}", params={"limit": "100"})
    answer.raise_for_status()
    return list(answer.json()["results"])


@pytest.mark.parametrize("created_at", [True, False], ids=["createdAt-sent", "writable-only"])
async def test_a_field_parse_ignores_is_drift_in_status_and_an_incident(
    tmp_path: Path, parse_server: ParseServer, created_at: bool
) -> None:
    """Each contact's first write is read back from Parse. With `createdAt` in the body Parse
    answers 200 and keeps its own: the three records drift on createdAt alone (email and
    name stuck), `status --json` and the status table say so, and a drift incident opens
    naming the field; without it, three records read back, none drifted, no incident."""
    path, cls = _workspace(tmp_path, parse_server, created_at=created_at)

    run = await asyncio.to_thread(_syncwell, "run", "--once", "-w", str(path))
    assert run.returncode == 0, run.stderr
    objects = await _objects(parse_server, cls)
    assert sorted(str(o["email"]) for o in objects) == [row[1] for row in ROWS]
    assert all(not str(o["createdAt"]).startswith("2020") for o in objects)  # Parse's own

    status = await asyncio.to_thread(_syncwell, "status", "-w", str(path), "--json")
    assert status.returncode == 0, status.stderr
    (flow,) = json.loads(status.stdout)
    verification = flow["verification"]
    assert verification["verified"] == 3 and verification["missing"] == 0
    table = await asyncio.to_thread(_syncwell, "status", "-w", str(path))
    store = await open_store(load_workspace(path).state)
    try:
        incidents = [i for i in await store.incidents.list() if i.cause == "drift"]
    finally:
        await store.close()
    if not created_at:
        assert verification["drifted"] == 0 and verification["fields"] == []
        assert incidents == []
        return
    assert verification["drifted"] == 3
    assert [(f["field"], f["drifted"]) for f in verification["fields"]] == [("createdAt", 3)]
    assert "3 of 3" in table.stdout, table.stdout
    (incident,) = incidents
    assert incident.closed_at is None and "createdAt" in incident.detail
