"""A record a tool answers 500 to every time, with the default retry policy (hand back).

The tool is a real server on loopback: it takes items one by one (PUT at the item's own URL)
or in bulk (POST of a list), answers 500 to any request holding a poisoned item, and can be
down altogether (500 to everything). `syncwell run --once` runs against it as a user runs it.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from syncwell import Engine
from syncwell.connectors.http.call import Call
from syncwell.connectors.http.errors import check
from syncwell.errors import ServerError, TransientError
from syncwell.store import open_store
from syncwell.workspace import load_workspace
from tests.connectors.http import tracker
from tests.connectors.http.tracker import LoopbackServer, TrackerServer, tracker_workspace
from tests.scenarios.runs import SYNCWELL


@dataclass
class Tool:
    """What the tool holds, the items it fails on, and the requests it answered."""

    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    poison: set[str] = field(default_factory=set)
    down: bool = False
    requests: int = 0


TOOL = Tool()


def _failing(keys: list[str]) -> Response | None:
    TOOL.requests += 1
    if TOOL.down or TOOL.poison.intersection(keys):
        return JSONResponse({"message": "Internal Server Error"}, status_code=500)
    return None


async def put_one(request: Request) -> Response:
    key = request.path_params["key"]
    item = await request.json()
    failed = _failing([key])
    if failed is not None:
        return failed
    TOOL.items[key] = item
    return JSONResponse(item)


async def post_many(request: Request) -> Response:
    items = (await request.json())["items"]
    failed = _failing([str(item["id"]) for item in items])
    if failed is not None:
        return failed
    TOOL.items.update({str(item["id"]): item for item in items})
    return JSONResponse({"taken": len(items)})


app = Starlette(
    routes=[
        Route("/items/{key}", put_one, methods=["PUT"]),
        Route("/items:bulk", post_many, methods=["POST"]),
    ]
)


@pytest.fixture
def tool_url() -> Any:
    """The tool on a loopback port, emptied for this test."""
    global TOOL
    TOOL = Tool()
    with LoopbackServer(app) as url:
        yield url


def _workspace(
    root: Path, url: str, rows: int, *, bulk: bool, max_batch: int = 100, **system: Any
) -> Path:
    with sqlite3.connect(root / "app.db") as db:
        db.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT, version INT)")
        db.executemany("INSERT INTO tasks VALUES (?, ?, ?)", [(i, f"t{i}", i) for i in range(rows)])
    upsert = (
        {
            "method": "POST",
            "path": "/items:bulk",
            "body": {"items": "{{records}}"},
            "max_batch": max_batch,
        }
        if bulk
        else {"method": "PUT", "path": "/items/{id}"}
    )
    document = {
        "systems": {
            "app": {"kind": "sqlite", "path": "app.db"},
            "tool": {
                "kind": "http",
                "base_url": url,
                # Fast backoff so the test is quick; the default policy otherwise (hand_back).
                "retry": {"base_s": 0.01, "cap_s": 0.02},
                "streams": {"items": {"write": {"upsert": upsert}}},
                **system,
            },
        },
        "flows": {
            "tasks_out": {
                "source": "app",
                "destination": "tool",
                "stream": "tasks",
                "target": "items",
                "key": "id",
                "cursor": "version",
            }
        },
    }
    path = root / "syncwell.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _run_once(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SYNCWELL, "run", "--once", "--json", "-w", str(path)],
        capture_output=True,
        text=True,
        timeout=120,  # a stalled flow fails the test here
        check=False,
    )


async def _state(
    path: Path, flow: str = "tasks_out"
) -> tuple[int, list[Any], list[Any], list[Any]]:
    """Changes waiting in the journal, open dead letters, deliveries, open incidents."""
    store = await open_store(load_workspace(path).state)
    try:
        waiting = (await store.journal.backlog()).get(flow, (0, 0, None))[1]
        letters = await store.dead_letters.list()
        incidents = await store.incidents.list(open_only=True)
    finally:
        await store.close()
    with sqlite3.connect(path.parent / ".syncwell" / "state.db") as db:
        deliveries = db.execute("SELECT written, dead_lettered FROM deliveries").fetchall()
    return waiting, letters, deliveries, incidents


@pytest.mark.parametrize("bulk", [False, True], ids=["one-by-one", "bulk"])
async def test_a_record_the_tool_always_fails_is_dead_lettered_and_the_rest_delivered(
    tool_url: str, tmp_path: Path, bulk: bool
) -> None:
    """A tool answering 500 to one record every time and 200 to the others: run --once writes
    the others, dead-letters that one naming the 500 and that the tool took other records,
    ends with exit 0, counts agree, and no incident stays open (before: a stall, exit 1)."""
    TOOL.poison = {"7"}
    path = _workspace(tmp_path, tool_url, 20, bulk=bulk)

    result = await asyncio.to_thread(_run_once, path)

    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(TOOL.items, key=int) == [str(i) for i in range(20) if i != 7]
    waiting, letters, deliveries, incidents = await _state(path)
    assert waiting == 0 and incidents == []
    (letter,) = letters
    assert letter.key == "7" and letter.error_class == "ServerError"
    assert "answered 500" in letter.reason
    assert "the tool accepted other records meanwhile" in letter.reason
    assert sum(w for w, _ in deliveries) == 19 and sum(d for _, d in deliveries) == 1
    (summary,) = json.loads(result.stdout)
    assert (summary["written"], summary["dead_lettered"]) == (19, 1)


async def test_a_tool_that_fails_everything_keeps_the_changes_in_the_journal(
    tool_url: str, tmp_path: Path
) -> None:
    """A tool answering 500 to everything is down, not full of bad records: nothing is
    dead-lettered, every change stays in the journal, its breaker opens (an incident), and
    run --once ends with exit 1 saying so, as before."""
    TOOL.down = True
    path = _workspace(tmp_path, tool_url, 20, bulk=False, breaker={"open_s": 0.2})

    result = await asyncio.to_thread(_run_once, path)

    assert result.returncode == 1, result.stderr[-2000:]
    assert "flow tasks_out: cannot write to tool" in result.stderr
    assert TOOL.items == {}
    waiting, letters, deliveries, _ = await _state(path)
    assert (waiting, letters, deliveries) == (20, [], [])
    store = await open_store(load_workspace(path).state)
    try:
        causes = {incident.cause for incident in await store.incidents.list()}
    finally:
        await store.close()
    assert "breaker_open" in causes


@pytest.mark.parametrize(
    ("bulk", "max_batch", "alone"),
    [(True, 1000, 1), (True, 100, 10), (False, 100, 1000)],
    ids=["bulk-1000", "bulk-100", "one-by-one"],
)
async def test_isolating_one_bad_record_in_a_thousand_costs_few_requests(
    tool_url: str, tmp_path: Path, bulk: bool, max_batch: int, alone: int
) -> None:
    """One bad record among 1,000 changes in one batch costs at most max_attempts (6) +
    3 * log2(1000) (30) requests more than the 1,000 take without it (`alone`), not thousands:
    each part of the halving gets 2 attempts, not the schedule (measured: 36, 42, 1025)."""
    TOOL.poison = {"613"}
    path = _workspace(tmp_path, tool_url, 1000, bulk=bulk, max_batch=max_batch)

    result = await asyncio.to_thread(_run_once, path)

    assert result.returncode == 0, result.stderr[-2000:]
    assert len(TOOL.items) == 999
    print(f"requests for 1000 changes, one bad: {TOOL.requests}")
    assert TOOL.requests <= alone + 6 + 3 * 10


@pytest.mark.parametrize(
    ("status", "server_error"),
    [(500, True), (501, True), (507, True), (502, False), (503, False), (504, False)],
)
def test_only_the_tools_own_error_answers_are_server_errors(
    status: int, server_error: bool
) -> None:
    """A 5xx is a ServerError (keeping its status across a pickle) unless it is a 502, 503 or
    504, which say the tool or its gateway is down or busy: those stay plain transient."""
    call = Call("PUT", "http://tool.example/items/7", "write", keys=("7",))
    request = httpx.Request("PUT", call.url)
    response = httpx.Response(status, json={"message": "boom"}, request=request)

    with pytest.raises(TransientError) as caught:
        check(response, call, (), system="tool", retry_after=None)

    assert isinstance(caught.value, ServerError) is server_error
    if server_error:
        copy = pickle.loads(pickle.dumps(caught.value))
        assert isinstance(copy, ServerError) and copy.status == status
        assert str(copy) == str(caught.value)


async def test_a_delete_request_tracker_fails_on_every_time_is_dead_lettered_with_others(
    tmp_path: Path,
) -> None:
    """Deleting a ticket already deleted in the tracker gets a 500 every time (Request
    Tracker's way; no `gone:` set): deleted together with another row, under the default
    policy, that delete alone is a dead letter and the other is done (before: both kept in
    the journal, the flow stuck)."""
    state = tracker.reset()
    state.soft_deletes = True
    with TrackerServer() as url:
        with sqlite3.connect(tmp_path / "app.db") as db:
            db.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, subject TEXT, version INT)")
            db.executemany("INSERT INTO tasks VALUES (?, ?, 1)", [(1, "a"), (2, "b"), (3, "c")])
        flow = {"deletes": {"detect": "scan", "every": "0s"}, "verify": False}
        path = tmp_path / "syncwell.yaml"
        path.write_text(tracker_workspace(url, ("subject",), flow=flow))
        await Engine(load_workspace(path)).run(once=True)
        assert state.posts == 3
        state.issues[101]["status"] = "deleted"  # deleted in the tracker, kept at its URL
        with sqlite3.connect(tmp_path / "app.db") as db:
            db.execute("DELETE FROM tasks WHERE id IN (1, 2)")
        engine = Engine(load_workspace(path))
        await engine.run(once=True)
    waiting, letters, _, incidents = await _state(path, "issues_out")
    assert state.issues[102]["status"] == "deleted" and waiting == 0 and incidents == []
    (letter,) = letters
    assert letter.key == "1" and letter.op == "delete" and "answered 500" in letter.reason
    progress = engine.progress["issues_out"]
    assert progress.stuck is None and progress.dead_lettered == 1
