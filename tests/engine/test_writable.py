"""Columns a tool sets itself never reach it: through the real engine against a tool on
loopback that refuses them, and the batch a destination receives, rows and COPY text alike."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from syncwell import Engine, copytext, load_workspace
from syncwell.engine.writable import writable
from syncwell.store import open_store
from syncwell.types import ChangeBatch
from syncwell.workspace.unsent import Unsent

_SET_BY_THE_TOOL = ("createdAt", "updatedAt")


@dataclass
class Tool:
    """A project tool that sets its own `createdAt` and `updatedAt` and refuses a write that
    carries either (400), as the tool in issue 12 did."""

    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    clock: int = 0

    async def listing(self, request: Request) -> Response:
        return JSONResponse({"results": sorted(self.tasks.values(), key=lambda t: t["id"])})

    async def put(self, request: Request) -> Response:
        body = await request.json()
        self.bodies.append(body)
        refused = [name for name in _SET_BY_THE_TOOL if name in body]
        if refused:
            self.refused += 1
            return JSONResponse({"message": f"{refused[0]} is read-only"}, status_code=400)
        key = request.path_params["id"]
        self.clock += 1
        now = f"2030-01-01T00:00:{self.clock:02d}Z"
        old = self.tasks.get(key, {"createdAt": now})
        self.tasks[key] = {**old, **body, "id": key, "updatedAt": now}
        return JSONResponse(self.tasks[key])


TOOL = Tool()


@pytest.fixture(scope="module")
def tool_url() -> Iterator[str]:
    """The tool on loopback (a real uvicorn server); one for this module."""
    app = Starlette(
        routes=[
            Route("/tasks", TOOL.listing, methods=["GET"]),
            Route("/tasks/{id}", TOOL.put, methods=["PUT"]),
        ]
    )
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the tool did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


SYSTEMS = """
core: core
systems:
  core: {{kind: sqlite, path: core.db}}
  tool:
    kind: http
    base_url: {url}
    retry: {{max_attempts: 2, base_s: 0.01, cap_s: 0.01}}
    streams:
      tasks:
        read: {{path: /tasks, records: results}}
        write:
          upsert: {{path: "/tasks/{{id}}"}}
flows:
  tasks_out:
    source: core
    destination: tool
    stream: tasks
    key: id
    cursor: updated_at
    fields: {{id: id, title: title, created_at: createdAt, updated_at: updatedAt}}
    deletes: {{detect: none}}
"""

# The other direction reads the tool by `updatedAt`: that is the tool's own cursor.
TWO_WAY = """
  tasks_in:
    source: tool
    destination: core
    stream: tasks
    key: id
    cursor: updatedAt
    fields: {{id: id, title: title, createdAt: created_at, updatedAt: updated_at}}
    deletes: {{detect: none}}
"""

# One way, nothing says which column is the tool's cursor: the flow names it, in the core's name.
ONE_WAY = """
    read_only: [updated_at]
"""


@pytest.mark.parametrize(
    "flows", [TWO_WAY, ONE_WAY], ids=["two-way-by-default", "one-way-read-only"]
)
async def test_records_reach_a_tool_that_refuses_its_own_timestamps(
    tool_url: str, tmp_path: Path, flows: str
) -> None:
    """Core rows written to a tool that answers 400 to any body with `createdAt` or
    `updatedAt` all arrive, without those fields and with none dead-lettered (before, each
    record was sent with both, refused, and dead-lettered); two ways, nothing ping-pongs."""
    TOOL.tasks.clear()
    TOOL.bodies.clear()
    TOOL.refused = 0
    with sqlite3.connect(tmp_path / "core.db") as db:
        db.execute(
            "CREATE TABLE tasks (id TEXT NOT NULL PRIMARY KEY, title TEXT, created_at TEXT,"
            " updated_at TEXT)"
        )
        db.executemany(
            "INSERT INTO tasks VALUES (?, ?, ?, ?)",
            [(f"t{i}", f"Task {i}", "2024-01-01T00:00:00Z", f"2024-01-0{i + 1}") for i in range(3)],
        )
    path = tmp_path / "syncwell.yaml"
    path.write_text((SYSTEMS + flows).format(url=tool_url))
    workspace = load_workspace(path)
    await asyncio.wait_for(Engine(workspace).run(once=True), timeout=60)

    assert TOOL.refused == 0
    assert {key: task["title"] for key, task in TOOL.tasks.items()} == {
        "t0": "Task 0",
        "t1": "Task 1",
        "t2": "Task 2",
    }
    assert TOOL.bodies and all(set(body) == {"id", "title"} for body in TOOL.bodies)
    store = await open_store(workspace.state)
    try:
        assert await store.dead_letters.list(flow="tasks_out") == []
    finally:
        await store.close()
    if flows is TWO_WAY:
        # The tool's own times come back as a change to the core; the core's write of them
        # is then an echo, so nothing more is sent to the tool.
        sent = len(TOOL.bodies)
        for _ in range(2):
            await asyncio.wait_for(Engine(workspace).run(once=True), timeout=60)
        assert len(TOOL.bodies) == sent
        with sqlite3.connect(tmp_path / "core.db") as db:
            times = db.execute("SELECT id, created_at FROM tasks ORDER BY id").fetchall()
        assert times == [(key, TOOL.tasks[key]["createdAt"]) for key in ("t0", "t1", "t2")]


def test_a_batch_loses_only_the_unsent_columns() -> None:
    """Rows keep their other values in order; the key stays though `read_only` names it
    nowhere, and a created-at goes by its name alone."""
    batch = ChangeBatch(("id", "name", "CreatedAt", "UpdatedAt"), [(1, "a", "x", "y")])
    unsent = Unsent(read_only=frozenset({"UpdatedAt"}), created_at=True, needed=frozenset({"id"}))
    sent = writable(batch, unsent)
    assert sent.columns == ("id", "name")
    assert list(sent.rows) == [(1, "a")]
    assert writable(batch, Unsent()) is batch  # nothing to leave out: the batch as it is


def test_a_copy_text_batch_loses_the_same_fields() -> None:
    """Between PostgreSQL systems pages travel as COPY text: the unsent fields leave each
    line, and a tab inside a value (escaped) stays in its field."""
    text = copytext.join_lines([b"1\tread\\tonly\t2024", b"2\t\\N\t2025"])
    batch = ChangeBatch(("id", "note", "updated_at"), (), copy_text=text)
    sent = writable(batch, Unsent(read_only=frozenset({"updated_at"})))
    assert sent.columns == ("id", "note")
    assert sent.copy_text is not None
    lines = copytext.split_lines(sent.copy_text)
    assert [copytext.parse_line(line) for line in lines] == [("1", "read\tonly"), ("2", None)]


def test_write_fields_sends_only_what_it_names_and_what_the_destination_needs() -> None:
    """`write_fields` keeps its columns and the needed ones; the created-at default is off."""
    batch = ChangeBatch(("id", "name", "email", "created_at"), [(1, "a", "e", "c")])
    unsent = Unsent(only=frozenset({"email", "created_at"}), needed=frozenset({"id"}))
    assert writable(batch, unsent).columns == ("id", "email", "created_at")
