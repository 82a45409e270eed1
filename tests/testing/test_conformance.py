"""The conformance kit against the sandbox's tools: it passes sources that bring every change,
and fails, naming the check and the fix, a flow that misses one."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from syncwell import load_workspace
from syncwell.sandbox import (
    CrmConfig,
    EmailConfig,
    FaultSettings,
    ProjectConfig,
    Sandbox,
    SandboxConfig,
    SandboxEndpoints,
    WebhookSubscription,
)
from syncwell.testing import (
    Check,
    ConformanceOptions,
    ConformanceReport,
    assert_conformant,
    check_source,
)
from tests.scenarios.crmkit import free_port

SECRET = "whsec_c3luY3dlbGwgY29uZm9ybWFuY2Ugc2VjcmV0IQ=="
CRM_AUTH = {"Authorization": "Bearer sandbox-crm-token"}
PROJECT_AUTH = ("sandbox", "sandbox-project-pass")

CRM = """
  crm:
    kind: http
    base_url: {url}
    auth: {{type: bearer, token: sandbox-crm-token}}
    streams:
      contacts:
        read:
          path: /v1/contacts
          params: {{limit: 100}}
          records: results
          pagination: {{style: cursor, cursor_path: paging.next.after, param: after}}
          incremental: {{param: updated_since, format: iso}}
    webhooks:
      secret: {secret}
      streams: {{"contact.*": contacts}}
"""

PROJECT = """
  project:
    kind: http
    base_url: {url}
    auth: {{type: basic, username: sandbox, password: sandbox-project-pass}}
    streams:
      tasks:
        read:
          path: /api/v2/tasks
          records: data
          total: total
          pagination: {{style: offset, offset_param: offset, limit_param: limit, page_size: 50}}
"""


def _workspace(root: Path, systems: str, flow: str, table: str) -> Path:
    with sqlite3.connect(root / "core.db") as db:
        db.execute(table)
    text = "name: conformance\ncore: core\nsystems:\n  core: {kind: sqlite, path: core.db}\n"
    path = root / "syncwell.yaml"
    path.write_text(text + systems + "flows:\n" + flow)
    return path


def _config(hook_port: int = 0) -> SandboxConfig:
    hooks = (
        (WebhookSubscription(url=f"http://127.0.0.1:{hook_port}/hooks/crm", secret=SECRET),)
        if hook_port
        else ()
    )
    # Every event is sent twice: one effect per event means the duplicates are dropped.
    crm_faults = FaultSettings(duplicate_webhook_rate=1.0)
    return SandboxConfig(
        crm=CrmConfig(
            port=0, contacts=40, webhooks=hooks, webhook_backoff_s=0.05, faults=crm_faults
        ),
        email=EmailConfig(port=0, faults=FaultSettings()),
        project=ProjectConfig(port=0, tasks=70, faults=FaultSettings()),
    )


@pytest.fixture
async def crm_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(headers=CRM_AUTH, timeout=10) as client:
        yield client


class SandboxCrm:
    """The sandbox CRM's contacts, changed through its API: a `LiveSystem` that `ListsKeys`."""

    def __init__(self, url: str, client: httpx.AsyncClient) -> None:
        self.url, self.client = url, client
        self.made = 0

    async def insert(self) -> str:
        self.made += 1
        email = f"kit{self.made}@conformance.example"
        await self._upsert({"email": email, "first_name": "Kit", "lifecycle_stage": "lead"})
        return email

    async def edit(self, key: str) -> None:
        await self._upsert({"email": key, "first_name": f"Edited {self.made}"})
        self.made += 1

    async def delete(self, key: str) -> None:
        answer = await self.client.delete(f"{self.url}/v1/contacts/{key}")
        assert answer.status_code == 204, answer.text

    async def list_keys(self) -> set[str]:
        keys: set[str] = set()
        params: dict[str, object] = {"limit": 100}
        while True:
            answer = await self.client.get(f"{self.url}/v1/contacts", params=params)
            answer.raise_for_status()
            body = answer.json()
            keys.update(record["email"] for record in body["results"])
            after = body.get("paging", {}).get("next", {}).get("after")
            if after is None:
                return keys
            params["after"] = after

    async def _upsert(self, contact: dict[str, str]) -> None:
        answer = await self.client.post(
            f"{self.url}/v1/contacts/batch/upsert", json={"inputs": [contact]}
        )
        assert answer.status_code == 200, answer.text


class SandboxProject:
    """The project tool's tasks: a `LiveSystem` without a key listing of its own."""

    def __init__(self, url: str, client: httpx.AsyncClient) -> None:
        self.url, self.client = url, client

    async def insert(self) -> str:
        answer = await self.client.post(f"{self.url}/api/v2/tasks", json={"title": "Kit task"})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    async def edit(self, key: str) -> None:
        answer = await self.client.patch(f"{self.url}/api/v2/tasks/{key}", json={"status": "done"})
        assert answer.status_code == 200, answer.text

    async def delete(self, key: str) -> None:
        answer = await self.client.delete(f"{self.url}/api/v2/tasks/{key}")
        assert answer.status_code == 204, answer.text


CONTACTS_TABLE = (
    "CREATE TABLE contacts (email TEXT NOT NULL PRIMARY KEY, first_name TEXT,"
    " updated_at TEXT NOT NULL)"
)


async def _crm_report(
    tmp_path: Path, flow: str, endpoints: SandboxEndpoints, client: httpx.AsyncClient, port: int
) -> ConformanceReport:
    systems = CRM.format(url=endpoints.crm_url, secret=SECRET)
    path = _workspace(tmp_path, systems, flow, CONTACTS_TABLE)
    crm = SandboxCrm(endpoints.crm_url, client)
    options = ConformanceOptions(pause_s=0.05, webhook_port=port, settle_s=1.0)
    return await check_source(load_workspace(path), "contacts", crm, options)


async def test_a_realtime_crm_flow_passes_every_check_webhooks_included(
    tmp_path: Path, crm_client: httpx.AsyncClient
) -> None:
    """Contacts by cursor, deletes by key scan, and signed webhooks sent twice each: every
    check passes, and each webhook event has exactly one effect."""
    flow = """
  contacts:
    source: crm
    destination: core
    stream: contacts
    key: email
    cursor: updated_at
    mode: realtime
    fields: [email, first_name, updated_at]
    deletes: {detect: scan, every: 0s}
"""
    port = free_port()
    async with Sandbox(_config(hook_port=port)) as endpoints:
        report = await _crm_report(tmp_path, flow, endpoints, crm_client, port)
    assert_conformant(report, required=list(Check))
    assert "40 records in the destination, 40 in the system's own listing" in str(report)


async def test_a_cursor_flow_without_delete_detection_fails_the_delete_check_with_the_fix(
    tmp_path: Path, crm_client: httpx.AsyncClient
) -> None:
    """A poll flow by cursor never sees a deleted record: the kit says so, and how to fix it,
    while the other checks pass."""
    flow = """
  contacts:
    source: crm
    destination: core
    stream: contacts
    key: email
    cursor: updated_at
    fields: [email, first_name, updated_at]
"""
    async with Sandbox(_config()) as endpoints:
        report = await _crm_report(tmp_path, flow, endpoints, crm_client, free_port())
    delete = report.result(Check.DELETE)
    assert delete.outcome == "failed", report
    assert "is still there" in delete.detail
    assert "deletes: {detect: scan}" in delete.detail
    assert report.result(Check.WEBHOOKS).outcome == "skipped"
    failed = [result.check for result in report.results if result.outcome == "failed"]
    assert failed == [Check.DELETE], report
    with pytest.raises(AssertionError, match="delete failed"):
        assert_conformant(report)


async def test_a_cursorless_flow_passes_with_a_full_read_each_time(tmp_path: Path) -> None:
    """Tasks read without a cursor: edits, inserts and deletes arrive by comparing each full
    read with the last, an idle read journals nothing, and there is no filter to check."""
    flow = """
  tasks:
    source: project
    destination: core
    stream: tasks
    key: id
    fields: [id, title, status]
"""
    table = "CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT, status TEXT)"
    async with (
        Sandbox(_config()) as endpoints,
        httpx.AsyncClient(auth=PROJECT_AUTH, timeout=10) as client,
    ):
        path = _workspace(tmp_path, PROJECT.format(url=endpoints.project_url), flow, table)
        project = SandboxProject(endpoints.project_url, client)
        options = ConformanceOptions(pause_s=0.05)
        report = await check_source(load_workspace(path), "tasks", project, options)
    assert_conformant(report, required=[Check.FULL_READ, Check.IDLE_POLL, Check.DELETE])
    assert report.result(Check.FILTER).outcome == "skipped"
    assert "a second full read" in report.result(Check.FULL_READ).detail


async def test_a_filter_the_api_reads_as_equal_to_fails_naming_what_it_sent(
    tmp_path: Path,
) -> None:
    """The project tool reads `modified=<time>` as "equal to": the filter's self-check stops
    the reads, and the kit fails the flow with the request and the fix, each error quoted in
    full once."""
    flow = """
  tasks:
    source: project
    destination: core
    stream: tasks
    key: id
    cursor: modified_at
    fields: [id, title, status, modified_at]
"""
    table = "CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT, status TEXT, modified_at TEXT)"
    systems = PROJECT + "          incremental: {{param: modified, format: iso}}\n"
    systems += "    retry: {{max_attempts: 1}}\n"
    equal_to = ProjectConfig(port=0, tasks=70, faults=FaultSettings(), filter_syntax="operator")
    async with (
        Sandbox(_config().model_copy(update={"project": equal_to})) as endpoints,
        httpx.AsyncClient(auth=PROJECT_AUTH, timeout=10) as client,
    ):
        path = _workspace(tmp_path, systems.format(url=endpoints.project_url), flow, table)
        project = SandboxProject(endpoints.project_url, client)
        options = ConformanceOptions(pause_s=0.05)
        report = await check_source(load_workspace(path), "tasks", project, options)
    text = str(report)
    assert report.result(Check.FILTER).outcome == "failed", text
    assert report.result(Check.EDIT).outcome == "failed", text
    assert "GET /api/v2/tasks?modified=" in text
    # Each run's error in full once (a later run's may ask from another time), then by name.
    assert text.count("the run gave up: IntegrationFatalError") <= 2
    assert "the same run error as above" in report.result(Check.INSERT).detail
    assert "syncwell probe: fail" in report.result(Check.FILTER).detail
    assert report.result(Check.DELETE).outcome == "skipped", text


async def test_a_webhook_port_already_taken_fails_the_webhook_check_saying_so(
    tmp_path: Path, crm_client: httpx.AsyncClient
) -> None:
    """The kit cannot serve the webhook ingress: the webhook check fails with the reason
    instead of the whole run raising."""
    flow = """
  contacts:
    source: crm
    destination: core
    stream: contacts
    key: email
    cursor: updated_at
    mode: realtime
    fields: [email, first_name, updated_at]
"""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        async with Sandbox(_config()) as endpoints:
            systems = CRM.format(url=endpoints.crm_url, secret=SECRET)
            path = _workspace(tmp_path, systems, flow, CONTACTS_TABLE)
            crm = SandboxCrm(endpoints.crm_url, client=crm_client)
            checks = frozenset({Check.FULL_READ, Check.WEBHOOKS})
            options = ConformanceOptions(pause_s=0.05, webhook_port=port, checks=checks)
            report = await check_source(load_workspace(path), "contacts", crm, options)
    webhooks = report.result(Check.WEBHOOKS)
    assert webhooks.outcome == "failed", report
    assert f"could not listen on 127.0.0.1:{port}" in webhooks.detail
