"""The identity map under the real engine: a core table written to a tracker that assigns its
own ids, has no upsert and never answers 409, then edited, deleted there, and read back."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from syncwell import Engine, load_workspace
from syncwell.cli import app as cli
from syncwell.store import IdentityScope, open_store
from tests.connectors.http import tracker
from tests.connectors.http.tracker import (
    ISSUES_FIND,
    ISSUES_WRITE,
    Tracker,
    TrackerServer,
    tracker_workspace,
)
from tests.scenarios.runs import SYNCWELL
from tests.waiting import until

READ_BACK = {
    "issues_back": {
        "source": "tracker",
        "destination": "app",
        "stream": "issues",
        "target": "tasks",
        "key": "id",
        "fields": {"id": "id", "subject": "subject"},
        "deletes": {"detect": "none"},
    }
}
"""The tracker's issues read back into the core, keyed by the tracker's id."""


@pytest.fixture(scope="module")
def tracker_url() -> Iterator[str]:
    with TrackerServer() as url:
        yield url


@pytest.fixture
def state(tracker_url: str) -> Tracker:
    return tracker.reset()


def _workspace(
    root: Path,
    url: str,
    missing: str = "dead_letter",
    flows: dict[str, Any] | None = None,
    find: bool = False,
    idempotency: bool = False,
) -> Path:
    with sqlite3.connect(root / "app.db") as db:
        db.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, subject TEXT, version INT)")
        db.executemany("INSERT INTO tasks VALUES (?, ?, 1)", [(1, "a"), (2, "b"), (3, "c")])
    write = {**ISSUES_WRITE, "find": ISSUES_FIND} if find else ISSUES_WRITE
    if idempotency:
        write = {**write, "idempotency_header": "Idempotency-Key"}
    text = tracker_workspace(
        url, ("subject",), write=write, read=True, flow={"missing": missing}, flows=flows
    )
    path = root / "syncwell.yaml"
    path.write_text(text)
    return path


def _edit_all(root: Path) -> None:
    with sqlite3.connect(root / "app.db") as db:
        db.execute("UPDATE tasks SET subject = subject || '!', version = 2")


async def _run(path: Path) -> Engine:
    engine = Engine(load_workspace(path))
    await engine.run(once=True)
    return engine


async def _ids(path: Path) -> tuple[int, int]:
    store = await open_store(load_workspace(path).state)
    try:
        return await store.identities.count(IdentityScope("tracker", "issues", "app"))
    finally:
        await store.close()


async def test_edits_update_the_issues_created_first(
    state: Tracker, tracker_url: str, tmp_path: Path
) -> None:
    """Three rows make three issues and three ids in the map; an edit of all of them, by a
    new engine (the ids come from the store), is three PUTs and no new issue (before: three
    more POSTs, duplicates counted as delivered)."""
    path = _workspace(tmp_path, tracker_url)
    await _run(path)
    assert state.posts == 3 and await _ids(path) == (3, 0)
    _edit_all(tmp_path)
    await _run(path)
    assert state.posts == 3 and state.puts == 3
    assert sorted(issue["subject"] for issue in state.issues.values()) == ["a!", "b!", "c!"]


@pytest.mark.parametrize(
    ("missing", "issues", "dead", "posts"),
    [("dead_letter", 2, 1, 3), ("recreate", 3, 0, 4), ("drop", 2, 0, 3)],
)
async def test_an_issue_deleted_in_the_tracker_follows_the_flows_policy(
    state: Tracker,
    tracker_url: str,
    tmp_path: Path,
    missing: str,
    issues: int,
    dead: int,
    posts: int,
) -> None:
    """The issue of row 2 is deleted in the tracker, then every row is edited: the other two
    are updated whatever the policy; row 2 becomes one dead letter (the default), a new
    issue (recreate, with its new id in the map), or nothing (drop). The run ends."""
    path = _workspace(tmp_path, tracker_url, missing=missing)
    await _run(path)
    (second,) = [number for number, issue in state.issues.items() if issue["subject"] == "b"]
    del state.issues[second]
    _edit_all(tmp_path)
    engine = await _run(path)
    assert len(state.issues) == issues and state.posts == posts and state.puts == 2
    progress = engine.progress["issues_out"]
    assert progress.dead_lettered == dead
    assert progress.missing_recreated == (missing == "recreate")
    assert progress.missing_dropped == (missing == "drop")
    store = await open_store(load_workspace(path).state)
    try:
        letters = await store.dead_letters.list(flow="issues_out")
        known = await store.identities.known(IdentityScope("tracker", "issues", "app"), ["2"])
    finally:
        await store.close()
    assert [letter.key for letter in letters] == (["2"] if dead else [])
    assert all("missing in tracker" in letter.reason for letter in letters)
    # The dead one's id is spent: a replay creates it anew. Recreated: the new id.
    assert known == ({"2": "104"} if missing == "recreate" else {})


async def test_read_back_maps_the_trackers_ids_to_the_core_keys(
    state: Tracker, tracker_url: str, tmp_path: Path
) -> None:
    """Two-way with ids the tracker assigns: its issues come back keyed by the core's keys,
    so an edit made in the tracker lands on the right row, what syncwell wrote is not
    written back, and an issue created in the tracker is a dead letter with the reason."""
    path = _workspace(tmp_path, tracker_url, flows=READ_BACK)
    await _run(path)
    (second,) = [number for number, issue in state.issues.items() if issue["subject"] == "b"]
    state.issues[second]["subject"] = "b, edited in the tracker"
    state.issues[999] = {"id": 999, "subject": "born in the tracker"}
    back = (await _run(path)).progress["issues_back"]
    assert back.written == 1 and back.echoes == 2  # syncwell's own writes, recognised
    with sqlite3.connect(tmp_path / "app.db") as db:
        rows = db.execute("SELECT id, subject FROM tasks ORDER BY id").fetchall()
    assert rows == [(1, "a"), (2, "b, edited in the tracker"), (3, "c")]
    store = await open_store(load_workspace(path).state)
    try:
        letters = await store.dead_letters.list(flow="issues_back")
    finally:
        await store.close()
    assert [letter.key for letter in letters] == ["999"]
    assert "created in tracker" in letters[0].reason


@pytest.mark.parametrize("guard", ["none", "find", "idempotency"])
async def test_kill_9_between_the_create_and_storing_its_id_makes_no_duplicate(
    state: Tracker, tracker_url: str, tmp_path: Path, guard: str
) -> None:
    """`syncwell run` is killed with SIGKILL while the tracker has created the first issue and
    its answer is on the way, so the id never reaches the store. The next run makes no second
    issue: with `find:` it finds the issue by subject and keeps its id; with an idempotency
    key the tracker honours, the create is sent again under the same key and answered with
    the first issue; with neither, that record is a dead letter saying it may already be
    there. The other two are created once."""
    find = guard == "find"
    path = _workspace(tmp_path, tracker_url, find=find, idempotency=guard == "idempotency")
    state.hang_creates = True
    state.honour_idempotency = guard == "idempotency"
    process = await asyncio.create_subprocess_exec(
        SYNCWELL, "run", "--once", "-w", str(path),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await until(lambda: state.hung == 1, within_s=30)
    finally:
        process.kill()
        await process.wait()
    assert len(state.issues) == 1
    scope = IdentityScope("tracker", "issues", "app")
    store = await open_store(load_workspace(path).state)
    try:
        assert await store.identities.known(scope, ["1", "2", "3"]) == {"1": None}
    finally:
        await store.close()
    state.hang_creates = False
    engine = await _run(path)
    assert sorted(issue["subject"] for issue in state.issues.values()) == ["a", "b", "c"]
    store = await open_store(load_workspace(path).state)
    try:
        letters = await store.dead_letters.list(flow="issues_out")
        known = await store.identities.known(scope, ["1", "2", "3"])
    finally:
        await store.close()
    if guard != "none":
        assert letters == [] and known == {"1": "101", "2": "102", "3": "103"}
        assert state.posts == 3  # one issue each: the first never posted twice
    else:
        assert [letter.key for letter in letters] == ["1"]
        assert "may have reached tracker" in letters[0].reason
        assert known == {"2": "102", "3": "103"}
        assert engine.progress["issues_out"].dead_lettered == 1


@pytest.mark.parametrize("how", ["gone", "url-404", "nothing", "exhausted"])
async def test_a_delete_of_an_issue_the_tracker_keeps_as_deleted_is_done(
    state: Tracker, tracker_url: str, tmp_path: Path, how: str
) -> None:
    """The tracker keeps a deleted issue at its URL with status "deleted" and answers 500 to
    deleting it again, as Request Tracker does. Row 1's issue is deleted there, then row 1 in
    the core. With `write.gone` naming that status, the failed delete reads the issue, finds
    it gone and is done: its id forgotten, nothing left in the journal, no dead letter; so
    it is, without `gone:`, where the issue's URL answers 404.
    Without it, the 500 is retried until the run gives up, the delete kept in the journal;
    or, with `retry.exhausted: dead_letter`, it is one dead letter with the 500 and the flow
    goes on."""
    state.soft_deletes = True
    state.hide_deleted = how == "url-404"
    with sqlite3.connect(tmp_path / "app.db") as db:
        db.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, subject TEXT, version INT)")
        db.executemany("INSERT INTO tasks VALUES (?, ?, 1)", [(1, "a"), (2, "b")])
    write = dict(ISSUES_WRITE)
    if how == "gone":
        write["gone"] = {"field": "issue.status", "values": ["deleted"]}
    flow = {"deletes": {"detect": "scan", "every": "0s"}, "verify": False}
    document = yaml.safe_load(tracker_workspace(tracker_url, ("subject",), write=write, flow=flow))
    if how == "exhausted":
        document["systems"]["tracker"]["retry"]["exhausted"] = "dead_letter"
    path = tmp_path / "syncwell.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    await _run(path)
    assert state.posts == 2
    state.issues[101]["status"] = "deleted"  # deleted in the tracker, kept at its URL
    with sqlite3.connect(tmp_path / "app.db") as db:
        db.execute("DELETE FROM tasks WHERE id = 1")
    engine = await _run(path)
    scope = IdentityScope("tracker", "issues", "app")
    store = await open_store(load_workspace(path).state)
    try:
        letters = await store.dead_letters.list(flow="issues_out")
        known = await store.identities.known(scope, ["1", "2"])
        backlog = await store.journal.backlog()
    finally:
        await store.close()
    stuck = engine.progress["issues_out"].stuck
    if how in ("gone", "url-404"):
        assert letters == [] and known == {"2": "102"}
    elif how == "nothing":
        assert letters == [] and known == {"1": "101", "2": "102"}
    else:
        assert [letter.key for letter in letters] == ["1"]
        assert "gave up after 2 attempts" in letters[0].reason and "500" in letters[0].reason
    assert ("issues_out" in backlog) == (how == "nothing") == (stuck is not None)


async def test_an_update_of_an_issue_kept_as_deleted_reads_back_as_missing(
    state: Tracker, tracker_url: str, tmp_path: Path
) -> None:
    """An update of an issue deleted in the tracker but kept at its URL is answered 2xx (as
    Request Tracker answers it) and lands on nothing anyone sees. With `write.gone`, its
    read-back counts it missing, where before it counted as verified: 2 verified after the
    creates, then 2 read back after the edits, 1 of them missing."""
    state.soft_deletes = True
    with sqlite3.connect(tmp_path / "app.db") as db:
        db.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, subject TEXT, version INT)")
        db.executemany("INSERT INTO tasks VALUES (?, ?, 1)", [(1, "a"), (2, "b")])
    write = {**ISSUES_WRITE, "gone": {"field": "issue.status", "values": ["deleted"]}}
    path = tmp_path / "syncwell.yaml"
    path.write_text(tracker_workspace(tracker_url, ("subject",), write=write))
    await _run(path)
    state.issues[101]["status"] = "deleted"
    _edit_all(tmp_path)
    await _run(path)
    assert state.puts == 2 and state.issues[101]["subject"] == "a!"  # taken, and hidden
    args = ["status", "-w", str(path), "--json"]
    result = await asyncio.to_thread(CliRunner().invoke, cli, args)
    assert result.exit_code == 0, result.output
    (flow,) = json.loads(result.output)
    verification = flow["verification"]
    assert (verification["verified"], verification["missing"]) == (4, 1)


@pytest.mark.parametrize("winner", ["tracker", "app"])
async def test_a_conflict_over_an_issue_resolves_by_the_core_key(
    state: Tracker, tracker_url: str, tmp_path: Path, winner: str
) -> None:
    """Task 2 is edited in the core and its issue in the tracker before either is synced,
    under `conflict: <side>` on both flows. The read-back carries the tracker's id, mapped to
    the core's key, so the two edits meet as one record's: the side named wins on both sides
    (its flow goes first in a one-off run, and the loser's edit comes back as an echo of the
    winner's write), and no issue is created."""
    back = {"issues_back": {**READ_BACK["issues_back"], "conflict": winner}}
    path = _workspace(tmp_path, tracker_url, flows=back)
    text = path.read_text().replace(
        "    lookback: 0s\n", f"    lookback: 0s\n    conflict: {winner}\n"
    )
    path.write_text(text)
    await _run(path)
    (second,) = [number for number, issue in state.issues.items() if issue["subject"] == "b"]
    with sqlite3.connect(tmp_path / "app.db") as db:
        db.execute("UPDATE tasks SET subject = 'b in the core', version = 2 WHERE id = 2")
    state.issues[second]["subject"] = "b in the tracker"
    await _run(path)
    engine = await _run(path)
    expected = f"b in the {'tracker' if winner == 'tracker' else 'core'}"
    with sqlite3.connect(tmp_path / "app.db") as db:
        rows = db.execute("SELECT id, subject FROM tasks ORDER BY id").fetchall()
    assert rows == [(1, "a"), (2, expected), (3, "c")]
    assert state.issues[second]["subject"] == expected
    assert len(state.issues) == 3 and state.posts == 3
    assert all(not progress.dead_lettered for progress in engine.progress.values())


async def test_a_task_deleted_and_made_again_is_a_new_issue_under_an_idempotency_key(
    state: Tracker, tracker_url: str, tmp_path: Path
) -> None:
    """The tracker replays the first answer to an idempotency key it has seen, as tools
    that honour them do for a day. Task 1 is created, deleted in the core (its issue
    deleted), then inserted again with the same key: its create carries a new key and makes
    a new issue, mapped to task 1. (With a key made of the record's key alone, the tracker
    answered with the deleted issue, which syncwell took for the new one: the task never
    reached the tracker.)"""
    state.honour_idempotency = True
    with sqlite3.connect(tmp_path / "app.db") as db:
        db.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, subject TEXT, version INT)")
        db.executemany("INSERT INTO tasks VALUES (?, ?, 1)", [(1, "a"), (2, "b")])
    write = {**ISSUES_WRITE, "idempotency_header": "Idempotency-Key"}
    flow = {"deletes": {"detect": "scan", "every": "0s"}}
    path = tmp_path / "syncwell.yaml"
    path.write_text(tracker_workspace(tracker_url, ("subject",), write=write, flow=flow))
    await _run(path)
    with sqlite3.connect(tmp_path / "app.db") as db:
        db.execute("DELETE FROM tasks WHERE id = 1")
    await _run(path)
    assert sorted(state.issues) == [102]
    with sqlite3.connect(tmp_path / "app.db") as db:
        db.execute("INSERT INTO tasks VALUES (1, 'a again', 3)")
    await _run(path)
    assert {number: issue["subject"] for number, issue in state.issues.items()} == {
        102: "b",
        103: "a again",
    }
    store = await open_store(load_workspace(path).state)
    try:
        known = await store.identities.known(IdentityScope("tracker", "issues", "app"), ["1"])
    finally:
        await store.close()
    assert known == {"1": "103"}
