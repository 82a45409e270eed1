"""syncwell against a real Request Tracker 5 (Debian, REST 2.0 with basic auth): tickets by a
TicketSQL filter on `LastUpdated` (one-second precision), no webhooks, no tombstones (a
deleted ticket drops out of every search)."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from syncwell import load_workspace
from syncwell.testing import Check, ConformanceOptions, assert_conformant, check_source
from tests.realtools.conftest import RequestTracker

SEEDED = 12

WORKSPACE = """
name: rt-test
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
          params:
            query: "Queue = '{queue}'"
            fields: Subject,Status,LastUpdated
            orderby: id
          records: items
          total: total
          pagination: {{style: page, page_param: page, size_param: per_page, page_size: 10}}
          incremental:
            params:
              query: "Queue = '{queue}' AND LastUpdated >= '{{since:%Y-%m-%d %H:%M:%S}}'"
            check: {{every_s: 0}}
flows:
  tickets:
    source: rt
    destination: core
    stream: tickets
    key: id
    cursor: LastUpdated
    fields: [id, Subject, Status, LastUpdated]
{flow_extra}
"""


class RtTickets:
    """The tickets of one RT queue, changed through RT's REST 2.0 API (a `ListsKeys` too)."""

    def __init__(self, server: RequestTracker, client: httpx.AsyncClient, queue: str) -> None:
        self.server, self.client, self.queue = server, client, queue
        self.made = 0

    async def insert(self) -> str:
        self.made += 1
        body = {"Queue": self.queue, "Subject": f"Ticket {self.made}"}
        answer = await self.client.post(f"{self.server.url}/ticket", json=body)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    async def edit(self, key: str) -> None:
        self.made += 1
        body = {"Subject": f"Edited {self.made}"}
        answer = await self.client.put(f"{self.server.url}/ticket/{key}", json=body)
        assert answer.status_code == 200, answer.text

    async def delete(self, key: str) -> None:
        answer = await self.client.delete(f"{self.server.url}/ticket/{key}")
        assert answer.status_code == 204, answer.text

    async def list_keys(self) -> set[str]:
        params = {"query": f"Queue = '{self.queue}'", "per_page": "100"}
        answer = await self.client.get(f"{self.server.url}/tickets", params=params)
        answer.raise_for_status()
        return {str(item["id"]) for item in answer.json()["items"]}


@pytest.fixture
async def tickets(request_tracker: RequestTracker) -> AsyncIterator[RtTickets]:
    """A new RT queue with 12 tickets (each test its own queue)."""
    auth = (request_tracker.user, request_tracker.password)
    async with httpx.AsyncClient(auth=auth, timeout=30) as client:
        queue = f"q{uuid.uuid4().hex[:8]}"
        answer = await client.post(f"{request_tracker.url}/queue", json={"Name": queue})
        assert answer.status_code == 201, answer.text
        tool = RtTickets(request_tracker, client, queue)
        for _ in range(SEEDED):
            await tool.insert()
        yield tool


def _workspace(root: Path, server: RequestTracker, queue: str, extra: str = "") -> Path:
    with sqlite3.connect(root / "core.db") as db:
        db.execute(
            "CREATE TABLE tickets (id TEXT NOT NULL PRIMARY KEY, Subject TEXT, Status TEXT,"
            " LastUpdated TEXT)"
        )
    path = root / "syncwell.yaml"
    path.write_text(
        WORKSPACE.format(
            url=server.url,
            user=server.user,
            password=server.password,
            queue=queue,
            flow_extra=extra,
        )
    )
    return path


async def test_tickets_read_whole_then_by_a_ticketsql_filter_on_last_updated(
    tmp_path: Path, request_tracker: RequestTracker, tickets: RtTickets
) -> None:
    """The full read equals RT's own search (2 pages), an idle poll journals nothing, and a
    ticket edited and one created through RT's API arrive by `LastUpdated >= '<time>'`
    written the way TicketSQL wants it, which passes its self-check each read."""
    path = _workspace(tmp_path, request_tracker, tickets.queue)
    checks = frozenset({Check.FULL_READ, Check.IDLE_POLL, Check.EDIT, Check.INSERT, Check.FILTER})
    options = ConformanceOptions(checks=checks)  # the default pause: LastUpdated has seconds
    report = await check_source(load_workspace(path), "tickets", tickets, options)
    print(report)  # what each check saw, shown with -s or -rA
    assert_conformant(report, required=checks)
    assert f"{SEEDED} records in the destination, {SEEDED} in the system's own listing" in str(
        report
    )


async def test_a_ticket_deleted_in_rt_leaves_the_core_by_a_key_scan(
    tmp_path: Path, request_tracker: RequestTracker, tickets: RtTickets
) -> None:
    """A deleted ticket drops out of RT's searches without a trace: the key scan after the
    read (`deletes: {detect: scan, every: 0s}`) finds it gone and deletes it in the core."""
    extra = "    deletes: {detect: scan, every: 0s}\n"
    path = _workspace(tmp_path, request_tracker, tickets.queue, extra)
    checks = frozenset({Check.FULL_READ, Check.DELETE})
    options = ConformanceOptions(checks=checks)
    report = await check_source(load_workspace(path), "tickets", tickets, options)
    print(report)
    assert_conformant(report, required=checks)
