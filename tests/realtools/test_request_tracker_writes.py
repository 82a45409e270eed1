"""syncwell writing to a real Request Tracker 5 (REST 2.0): tickets whose ids RT assigns, no
upsert, found by Subject. RT's "deleted" is a status: an update of a deleted ticket answers
200 and deleting it again answers 500, so a record missing there is never seen as missing."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import httpx
import pytest

from syncwell import Engine, load_workspace
from syncwell.store import IdentityScope, open_store
from syncwell.testing import DestinationCheck, DestinationOptions, check_destination
from tests.realtools.conftest import RequestTracker

WORKSPACE = """
name: rt-writes
core: core
systems:
  core: {{kind: sqlite, path: core.db}}
  rt:
    kind: http
    base_url: {url}
    auth: {{type: basic, username: {user}, password: {password}}}
    retry: {{max_attempts: 2, base_s: 0.2}}
    streams:
      tickets:
        read:
          path: /tickets
          params: {{query: "Queue = '{queue}'", fields: "Subject,TimeEstimated,Status"}}
          records: items
          pagination: {{style: page, page_param: page, size_param: per_page, page_size: 10}}
        write:
          ids: {{field: id}}
          create:
            path: /ticket
            body: {{Queue: {queue}, Subject: "{{{{record.Subject}}}}",
                    TimeEstimated: "{{{{record.TimeEstimated}}}}"{status_body}}}
          update:
            method: PUT
            path: "/ticket/{{id}}"
            body: {{Subject: "{{{{record.Subject}}}}",
                    TimeEstimated: "{{{{record.TimeEstimated}}}}"{status_body}}}
          delete: {{path: "/ticket/{{id}}"}}
          find:
            path: /tickets
            params: {{query: "Queue = '{queue}' AND Subject = '{{{{record.Subject}}}}'",
                      fields: Subject}}
            records: items
            by: Subject{gone}
flows:
  tasks:
    source: core
    destination: rt
    stream: tasks
    target: tickets
    key: id
    cursor: version
    lookback: 0s
    fields: {{id: Subject, estimate: TimeEstimated{status_field}, version: version}}
    deletes: {{detect: scan, every: 0s}}
"""


class RtQueue:
    """One RT queue, read through RT's REST 2.0 API."""

    def __init__(self, server: RequestTracker, client: httpx.AsyncClient, name: str) -> None:
        self.server, self.client, self.name = server, client, name

    async def tickets(self) -> list[dict[str, object]]:
        """The queue's tickets (RT leaves deleted ones out of every search)."""
        params = {"query": f"Queue = '{self.name}'", "fields": "Subject,TimeEstimated,Status"}
        answer = await self.client.get(f"{self.server.url}/tickets", params=params)
        answer.raise_for_status()
        return list(answer.json()["items"])

    async def ticket(self, number: str) -> dict[str, object]:
        answer = await self.client.get(f"{self.server.url}/ticket/{number}")
        answer.raise_for_status()
        return dict(answer.json())


@pytest.fixture
async def queue(request_tracker: RequestTracker) -> AsyncIterator[RtQueue]:
    """A new, empty RT queue (each test its own)."""
    auth = (request_tracker.user, request_tracker.password)
    async with httpx.AsyncClient(auth=auth, timeout=30) as client:
        name = f"w{uuid.uuid4().hex[:8]}"
        answer = await client.post(f"{request_tracker.url}/queue", json={"Name": name})
        assert answer.status_code == 201, answer.text
        yield RtQueue(request_tracker, client, name)


GONE = """
          gone: {field: Status, values: [deleted]}"""
"""RT keeps a deleted ticket at its URL, Status deleted: this says so."""


def _workspace(
    root: Path, server: RequestTracker, queue: str, *, status: bool = True, gone: bool = False
) -> Path:
    with sqlite3.connect(root / "core.db") as db:
        db.execute(
            "CREATE TABLE tasks (id TEXT NOT NULL PRIMARY KEY, estimate INT, status TEXT,"
            " version INT)"
        )
        db.executemany(
            "INSERT INTO tasks VALUES (?, ?, 'new', 1)", [("task-a", 10), ("task-b", 20)]
        )
    path = root / "syncwell.yaml"
    path.write_text(
        WORKSPACE.format(
            url=server.url,
            user=server.user,
            password=server.password,
            queue=queue,
            status_body=', Status: "{{record.Status}}"' if status else "",
            status_field=", status: Status" if status else "",
            gone=GONE if gone else "",
        )
    )
    return path


async def _run(path: Path) -> Engine:
    engine = Engine(load_workspace(path), analyse_every_s=None)
    await asyncio.wait_for(engine.run(once=True), timeout=120)
    return engine


async def test_tickets_created_updated_and_deleted_through_syncwell_are_never_duplicated(
    tmp_path: Path, request_tracker: RequestTracker, queue: RtQueue
) -> None:
    """Two core rows become two tickets (RT's ids in the map), an edit of both is two
    updates of those tickets (still two), and a row deleted in the core deletes its ticket
    (RT's search then lists one)."""
    path = _workspace(tmp_path, request_tracker, queue.name)
    await _run(path)
    assert sorted(str(t["Subject"]) for t in await queue.tickets()) == ["task-a", "task-b"]
    with sqlite3.connect(tmp_path / "core.db") as db:
        db.execute("UPDATE tasks SET estimate = estimate + 5, status = 'open', version = 2")
    engine = await _run(path)
    assert engine.progress["tasks"].written == 2
    tickets = await queue.tickets()
    assert sorted((t["Subject"], t["TimeEstimated"], t["Status"]) for t in tickets) == [
        ("task-a", "15", "open"), ("task-b", "25", "open"),
    ]  # fmt: skip
    with sqlite3.connect(tmp_path / "core.db") as db:
        db.execute("DELETE FROM tasks WHERE id = 'task-b'")
    await _run(path)
    assert [t["Subject"] for t in await queue.tickets()] == ["task-a"]


async def test_a_subject_with_a_quote_is_one_dead_letter_not_a_stalled_flow(
    tmp_path: Path, request_tracker: RequestTracker, queue: RtQueue
) -> None:
    """`find:` puts the Subject into a TicketSQL query, and O'Brien's quote breaks it: RT
    answers 400 to that lookup. That task is one dead letter saying its lookup was refused,
    and the two others become tickets (before: the 400 was taken for a refused read of the
    whole stream, and no task was written)."""
    path = _workspace(tmp_path, request_tracker, queue.name)
    with sqlite3.connect(tmp_path / "core.db") as db:
        db.execute("INSERT INTO tasks VALUES ('O''Brien''s task', 30, 'new', 1)")
    await _run(path)
    assert sorted(str(t["Subject"]) for t in await queue.tickets()) == ["task-a", "task-b"]
    store = await open_store(load_workspace(path).state)
    try:
        letters = await store.dead_letters.list(flow="tasks")
    finally:
        await store.close()
    assert [letter.key for letter in letters] == ["O'Brien's task"]
    assert "its lookup by write.find was refused: Wrong query" in letters[0].reason


async def test_a_ticket_deleted_in_rt_is_missing_on_read_back_and_deleting_it_is_done(
    tmp_path: Path, request_tracker: RequestTracker, queue: RtQueue
) -> None:
    """With `write.gone: {field: Status, values: [deleted]}`: task-a's ticket is deleted in
    RT, then both tasks edited. RT answers 200 to the update of the deleted ticket (the edit
    is lost there), and the read-back counts it missing, task-b verified. Then task-a is
    deleted in the core: RT answers 500 to deleting its deleted ticket, the ticket's URL
    says Status deleted, and the delete is done: the run ends with nothing in the journal,
    no dead letter, task-a's id forgotten (without `gone:` it is retried until the run gives
    up, tests/connectors/http/test_identity_engine.py)."""
    path = _workspace(tmp_path, request_tracker, queue.name, status=False, gone=True)
    await _run(path)
    (ticket_a,) = [t for t in await queue.tickets() if t["Subject"] == "task-a"]
    answer = await queue.client.delete(f"{request_tracker.url}/ticket/{ticket_a['id']}")
    assert answer.status_code == 204, answer.text
    with sqlite3.connect(tmp_path / "core.db") as db:
        db.execute("UPDATE tasks SET estimate = estimate + 5, version = 2")
    await _run(path)
    assert [t["Subject"] for t in await queue.tickets()] == ["task-b"]
    store = await open_store(load_workspace(path).state)
    try:
        verification = (await store.verifications.of(["tasks"]))["tasks"]
    finally:
        await store.close()
    assert (verification.verified, verification.missing) == (4, 1)

    with sqlite3.connect(tmp_path / "core.db") as db:
        db.execute("DELETE FROM tasks WHERE id = 'task-a'")
    engine = await _run(path)
    assert engine.progress["tasks"].stuck is None
    store = await open_store(load_workspace(path).state)
    try:
        letters = await store.dead_letters.list(flow="tasks")
        backlog = await store.journal.backlog()
        known = await store.identities.known(
            IdentityScope("rt", "tickets", "core"), ["task-a", "task-b"]
        )
    finally:
        await store.close()
    assert letters == [] and "tasks" not in backlog
    assert set(known) == {"task-b"}


class Tasks:
    """The core's tasks as the kit writes them; RT refuses a status it does not know."""

    def __init__(self, status: bool) -> None:
        self.status = status

    def record(self, number: int, version: int) -> Mapping[str, object]:
        record: dict[str, object] = {"id": f"kit-{number}", "estimate": number * 100 + version}
        if self.status:
            record["status"] = "new"
        return {**record, "version": version}

    def refused(self) -> Mapping[str, object] | None:
        if not self.status:
            return None  # RT takes any other value it does not understand (see the docs)
        return {"id": "kit-refused", "estimate": 1, "status": "bogus", "version": 1}


@pytest.mark.parametrize(
    ("status", "missing"),
    [
        (False, ("failed", "the write succeeded, and the change is not there")),
        (True, ("passed", "record 'kit-1' recreated by the write")),
    ],
    ids=["without-status", "with-status"],
)
async def test_the_kit_finds_what_rt_hides_about_records_deleted_there(
    tmp_path: Path,
    request_tracker: RequestTracker,
    queue: RtQueue,
    status: bool,
    missing: tuple[str, str],
) -> None:
    """The destination checks against RT: a write, a rewrite, an older version and a lost
    create found by Subject pass, and so does RT's 400 for an unknown status. But RT's
    "deleted" is a status: an update of a deleted ticket answers 200. Without `Status` in
    the update the ticket stays deleted, out of every search (the missing-record check
    fails: the change is lost in silence); with it, the update brings the ticket back. And
    deleting a deleted ticket answers 500, so the delete check fails on it."""
    path = _workspace(tmp_path, request_tracker, queue.name, status=status)
    compared = {"Subject", "TimeEstimated", "Status"} if status else {"Subject", "TimeEstimated"}
    options = DestinationOptions(compare=frozenset(compared))
    report = await check_destination(load_workspace(path), "tasks", Tasks(status), options)
    print(report)  # what each check saw, shown with -s or -rA
    outcomes = {result.check: result.outcome for result in report.results}
    assert outcomes == {
        DestinationCheck.WRITE: "passed",
        DestinationCheck.REWRITE: "passed",
        DestinationCheck.STALE: "passed",
        DestinationCheck.LOST_ID: "passed",
        DestinationCheck.REFUSED: "passed" if status else "skipped",
        DestinationCheck.MISSING: missing[0],
        DestinationCheck.DELETE: "failed",
    }
    assert missing[1] in report.result(DestinationCheck.MISSING).detail
    if status:
        assert "isn't a valid status" in report.result(DestinationCheck.REFUSED).detail
    assert "answered 500" in report.result(DestinationCheck.DELETE).detail
