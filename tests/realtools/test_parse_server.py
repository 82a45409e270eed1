"""syncwell against a real Parse Server (npm, on PostgreSQL): ids the server assigns, a JSON
`where` filter on `updatedAt`, no tombstones, and Cloud Code hooks with a static key header."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from syncwell import Engine, load_workspace
from syncwell.store import open_store
from syncwell.testing import (
    Check,
    ConformanceOptions,
    assert_conformant,
    check_source,
)
from syncwell.testing.observe import Destination
from syncwell.testing.webhooks import WebhookRun
from tests.realtools.conftest import ParseServer
from tests.scenarios.crmkit import free_port

SEEDED = 25

SYSTEM = """
name: parse-test
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
        read:
          path: /classes/{cls}
          params: {{order: objectId}}
          records: results
          pagination: {{style: offset, offset_param: skip, limit_param: limit, page_size: 10}}
          incremental:
            params:
              where: {{updatedAt: {{$gte: {{__type: Date, iso: "{{since:iso_ms}}"}}}}}}
            check: {{every_s: 0}}
{webhooks}
flows:
  contacts:
    source: parse
    destination: core
    stream: contacts
    key: objectId
    cursor: updatedAt
    fields: [objectId, email, name, updatedAt]
{flow_extra}
"""

WEBHOOKS = """    webhooks:
      auth: {{kind: header, header: X-Parse-Webhook-Key, secret: {webhook_key}}}
      event_id: "@body"
      event_type: triggerName
      record: object
      route_by: object.className
      streams: {{{cls}: contacts}}
      deletes: [afterDelete]
"""


class ParseContacts:
    """One Parse class of contacts, changed through Parse's REST API (a `ListsKeys` too)."""

    def __init__(self, server: ParseServer, client: httpx.AsyncClient, cls: str) -> None:
        self.server, self.client, self.cls = server, client, cls
        self.made = 0

    async def seed(self, count: int) -> None:
        # One by one: a batch that creates the class answers 500 on PostgreSQL (the table is
        # created by each of its requests at once).
        for i in range(count):
            body = {"email": f"seed{i}@parse.example", "name": f"Seed {i}"}
            answer = await self.client.post(f"{self.server.url}/classes/{self.cls}", json=body)
            assert answer.status_code == 201, answer.text

    async def insert(self) -> str:
        self.made += 1
        body = {"email": f"new{self.made}@parse.example", "name": "New"}
        answer = await self.client.post(f"{self.server.url}/classes/{self.cls}", json=body)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["objectId"])

    async def edit(self, key: str) -> None:
        self.made += 1
        body = {"name": f"Edited {self.made}"}
        answer = await self.client.put(f"{self.server.url}/classes/{self.cls}/{key}", json=body)
        assert answer.status_code == 200, answer.text

    async def delete(self, key: str) -> None:
        answer = await self.client.delete(f"{self.server.url}/classes/{self.cls}/{key}")
        assert answer.status_code == 200, answer.text

    async def list_keys(self) -> set[str]:
        params = {"keys": "objectId", "limit": "10000"}
        answer = await self.client.get(f"{self.server.url}/classes/{self.cls}", params=params)
        answer.raise_for_status()
        return {record["objectId"] for record in answer.json()["results"]}

    async def hook(self, trigger: str, url: str) -> None:
        body = {"className": self.cls, "triggerName": trigger, "url": url}
        answer = await self.client.post(f"{self.server.url}/hooks/triggers", json=body)
        assert answer.status_code in (200, 201), answer.text


@pytest.fixture
async def contacts(parse_server: ParseServer) -> AsyncIterator[ParseContacts]:
    """A new Parse class with 25 contacts (each test its own class)."""
    headers = {
        "X-Parse-Application-Id": parse_server.app_id,
        "X-Parse-Master-Key": parse_server.master_key,
    }
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        tool = ParseContacts(parse_server, client, f"Contact_{uuid.uuid4().hex[:8]}")
        await tool.seed(SEEDED)
        yield tool


def _workspace(root: Path, server: ParseServer, cls: str, *, webhooks: bool, extra: str) -> Path:
    with sqlite3.connect(root / "core.db") as db:
        db.execute(
            "CREATE TABLE contacts (objectId TEXT NOT NULL PRIMARY KEY, email TEXT, name TEXT,"
            " updatedAt TEXT)"
        )
    hooks = WEBHOOKS.format(webhook_key=server.webhook_key, cls=cls) if webhooks else ""
    text = SYSTEM.format(
        url=server.url,
        app_id=server.app_id,
        master_key=server.master_key,
        cls=cls,
        webhooks=hooks,
        flow_extra=extra,
    )
    path = root / "syncwell.yaml"
    path.write_text(text)
    return path


async def test_a_poll_flow_reads_all_then_each_edit_and_insert_by_a_json_where_filter(
    tmp_path: Path, parse_server: ParseServer, contacts: ParseContacts
) -> None:
    """The full read equals Parse's own listing (ids Parse assigned, 3 pages), an idle poll
    journals nothing, and an edit and an insert made through Parse's API arrive by the
    `where={"updatedAt": {"$gte": ...}}` filter, which passes its self-check each read."""
    path = _workspace(tmp_path, parse_server, contacts.cls, webhooks=False, extra="")
    checks = frozenset({Check.FULL_READ, Check.IDLE_POLL, Check.EDIT, Check.INSERT, Check.FILTER})
    options = ConformanceOptions(pause_s=0.05, checks=checks)
    report = await check_source(load_workspace(path), "contacts", contacts, options)
    print(report)  # what each check saw, shown with -s or -rA
    assert_conformant(report, required=checks)
    assert f"{SEEDED} records in the destination, {SEEDED} in the system's own listing" in str(
        report
    )


async def test_a_record_deleted_in_parse_leaves_the_core_by_a_key_scan(
    tmp_path: Path, parse_server: ParseServer, contacts: ParseContacts
) -> None:
    """Parse keeps no tombstones: a record deleted through its API is found gone by a key
    scan after the read (`deletes: {detect: scan, every: 0s}`) and deleted in the core."""
    extra = "    deletes: {detect: scan, every: 0s}\n"
    path = _workspace(tmp_path, parse_server, contacts.cls, webhooks=False, extra=extra)
    checks = frozenset({Check.FULL_READ, Check.IDLE_POLL, Check.DELETE})
    options = ConformanceOptions(pause_s=0.05, checks=checks)
    report = await check_source(load_workspace(path), "contacts", contacts, options)
    print(report)  # what each check saw, shown with -s or -rA
    assert_conformant(report, required=checks)


async def test_parse_cloud_code_hooks_arrive_once_each_with_the_static_key_header(
    tmp_path: Path, parse_server: ParseServer, contacts: ParseContacts
) -> None:
    """Parse's afterSave and afterDelete hooks (X-Parse-Webhook-Key, no event id, routed by
    `object.className`) bring an edit, an insert and a delete, each as exactly one change."""
    port = free_port()
    for trigger in ("afterSave", "afterDelete"):
        await contacts.hook(trigger, f"http://127.0.0.1:{port}/hooks/parse")
    path = _workspace(
        tmp_path, parse_server, contacts.cls, webhooks=True, extra="    mode: realtime\n"
    )
    checks = frozenset({Check.FULL_READ, Check.WEBHOOKS})
    options = ConformanceOptions(pause_s=0.05, webhook_port=port, settle_s=1.5, checks=checks)
    report = await check_source(load_workspace(path), "contacts", contacts, options)
    print(report)  # what each check saw, shown with -s or -rA
    assert_conformant(report, required=checks)


async def test_a_hook_for_another_parse_class_is_refused_and_never_applied_to_contacts(
    tmp_path: Path, parse_server: ParseServer, contacts: ParseContacts
) -> None:
    """The same hook URL gets afterSave events of another class: routed by
    `object.className`, they are refused (422) and never written into the contacts table,
    while the contact created after them arrives."""
    port = free_port()
    deals = ParseContacts(parse_server, contacts.client, f"Deal_{uuid.uuid4().hex[:8]}")
    await deals.seed(1)  # the class exists before its hook is registered
    for tool in (contacts, deals):
        await tool.hook("afterSave", f"http://127.0.0.1:{port}/hooks/parse")
    path = _workspace(
        tmp_path, parse_server, contacts.cls, webhooks=True, extra="    mode: realtime\n"
    )
    workspace = load_workspace(path)
    destination = Destination(workspace, workspace.flows["contacts"])
    async with WebhookRun(workspace, "contacts", port) as hooks:
        deal = await deals.insert()
        contact = await contacts.insert()
        assert await hooks.until(destination, lambda records: contact in records, 30) is not None
        await asyncio.sleep(1.0)  # the deal's event, sent first, has had its answer
        records = await destination.records()
        assert deal not in records
        assert hooks.hooked() == 1
    assert len(records) == SEEDED + 1


NULL_CURSOR = """
name: parse-null-cursor
core: core
systems:
  core: {{kind: sqlite, path: core.db}}
  parse:
    kind: http
    base_url: {url}
    headers: {{X-Parse-Application-Id: {app_id}}}
    auth: {{type: api_key, header: X-Parse-Master-Key, key: {master_key}}}
    streams:
      contacts:
        read:
          path: /classes/{cls}
          params: {{order: objectId}}
          records: results
          pagination: {{style: offset, offset_param: skip, limit_param: limit, page_size: 10}}
flows:
  contacts:
    source: parse
    destination: core
    stream: contacts
    key: objectId
    cursor: modifiedAt
    fields: [objectId, email, name, modifiedAt]
    deletes: {{detect: scan, every: 0s}}
"""


class StampedContacts(ParseContacts):
    """Contacts whose own `modifiedAt` is set by edits only: NULL until a record is edited."""

    async def edit(self, key: str) -> None:
        self.made += 1
        body = {"name": f"Edited {self.made}", "modifiedAt": datetime.now(UTC).isoformat()}
        answer = await self.client.put(f"{self.server.url}/classes/{self.cls}/{key}", json=body)
        assert answer.status_code == 200, answer.text


async def test_records_never_edited_have_a_null_cursor_and_are_taken_in_once(
    tmp_path: Path, parse_server: ParseServer, contacts: ParseContacts
) -> None:
    """A cursor field that records get only when edited (NULL before, as NocoDB's UpdatedAt):
    the 25 never-edited records arrive once, a poll re-reading them all journals nothing, an
    edit arrives by its new cursor, and a new record without one arrives too."""
    with sqlite3.connect(tmp_path / "core.db") as db:
        db.execute(
            "CREATE TABLE contacts (objectId TEXT NOT NULL PRIMARY KEY, email TEXT, name TEXT,"
            " modifiedAt TEXT)"
        )
    path = tmp_path / "syncwell.yaml"
    path.write_text(
        NULL_CURSOR.format(
            url=parse_server.url,
            app_id=parse_server.app_id,
            master_key=parse_server.master_key,
            cls=contacts.cls,
        )
    )
    stamped = StampedContacts(parse_server, contacts.client, contacts.cls)
    options = ConformanceOptions(pause_s=0.05)
    report = await check_source(load_workspace(path), "contacts", stamped, options)
    print(report)  # what each check saw, shown with -s or -rA
    assert_conformant(
        report, required=[Check.FULL_READ, Check.IDLE_POLL, Check.EDIT, Check.INSERT, Check.DELETE]
    )
    assert "journaled 2" in report.result(Check.EDIT).detail  # the edit and the insert only


OUTBOX = """
name: parse-writes
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
          update:
            method: PUT
            path: /classes/{cls}/{{objectId}}
            body: {{name: "{{{{record.name}}}}"}}
flows:
  renames:
    source: core
    destination: parse
    stream: outbox
    target: contacts
    key: objectId
    cursor: version
    deletes: {{detect: none}}
"""


async def test_an_update_of_a_contact_deleted_in_parse_is_one_dead_letter_and_the_rest_arrive(
    tmp_path: Path, parse_server: ParseServer, contacts: ParseContacts
) -> None:
    """Two renames written to Parse by objectId, one of them of a contact deleted in Parse
    meanwhile (Parse answers 404 at its URL): the other is renamed in Parse, the missing one
    is a dead letter that says so, and the one-off run ends instead of stalling the flow."""
    kept, gone = sorted(await contacts.list_keys())[:2]
    await contacts.delete(gone)
    with sqlite3.connect(tmp_path / "core.db") as db:
        db.execute(
            "CREATE TABLE outbox (objectId TEXT NOT NULL PRIMARY KEY, name TEXT, version INT)"
        )
        db.executemany("INSERT INTO outbox VALUES (?, 'Renamed', 1)", [(kept,), (gone,)])
    path = tmp_path / "syncwell.yaml"
    server = parse_server
    path.write_text(
        OUTBOX.format(url=server.url, app_id=server.app_id, master_key=server.master_key,
                      cls=contacts.cls)
    )  # fmt: skip
    workspace = load_workspace(path)
    await asyncio.wait_for(Engine(workspace, analyse_every_s=None).run(once=True), timeout=120)
    answer = await contacts.client.get(f"{server.url}/classes/{contacts.cls}/{kept}")
    assert answer.json()["name"] == "Renamed"
    store = await open_store(workspace.state)
    try:
        letters = await store.dead_letters.list(flow="renames")
    finally:
        await store.close()
    assert [letter.key for letter in letters] == [gone]
    assert "missing in parse" in letters[0].reason
