"""The core app (SQLite) and the sandbox's CRM in its own process, for whole-workflow tests."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from syncwell import Engine, load_workspace
from syncwell.api import ApiServer, create_app
from syncwell.sandbox import (
    CrmConfig,
    EmailConfig,
    FaultSettings,
    ProjectConfig,
    SandboxConfig,
    SandboxProcess,
    WebhookSubscription,
)
from tests.waiting import until

SECRET = "whsec_c3luY3dlbGwgZGVtbyB3ZWJob29rIHNlY3JldCE="

CRM_SYSTEM = """
  crm:
    kind: http
    base_url: {url}
    auth: {{type: bearer, token: sandbox-crm-token}}
    rate_limit: {{per_second: {rate}}}
    retry: {{base_s: 0.2, cap_s: 2, max_attempts: 4}}
    breaker: {{failure_threshold: {threshold}, open_s: {open_s}, max_open_s: {open_s}}}
    streams:
      contacts:
        read:
          path: /v1/contacts
          params: {{limit: 100}}
          records: results
          pagination: {{style: cursor, cursor_path: paging.next.after, param: after}}
          incremental: {{param: updated_since, format: iso}}
        write:
          upsert:
            method: POST
            path: /v1/contacts/batch/upsert
            body: {{inputs: "{{{{records}}}}"}}
            item: {{email: "{{{{record.email}}}}", first_name: "{{{{record.first_name}}}}"}}
            max_batch: 100
          errors: {{path: errors, index: index, key: email, message: message}}
    webhooks:
      secret: {secret}
      streams: {{"contact.*": contacts}}
"""

TO_CRM = """
  to_crm:
    source: core
    destination: crm
    stream: contacts
    key: email
    cursor: updated_at
    interval: {interval}
    batch_size: 500
    fields: [email, first_name, updated_at]
"""

FROM_CRM = """
  from_crm:
    source: crm
    destination: core
    stream: contacts
    key: email
    cursor: updated_at
    mode: realtime
    interval: {interval}
    fields: [email, first_name, updated_at]
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_core(root: Path, contacts: int) -> Path:
    """The core's contacts table (a trigger logs every row write) with `contacts` rows."""
    path = root / "core.db"
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE,"
            " first_name TEXT, updated_at TEXT NOT NULL);"
            "CREATE TABLE writes (email TEXT, first_name TEXT);"
            "CREATE TRIGGER w1 AFTER INSERT ON contacts"
            " BEGIN INSERT INTO writes VALUES (NEW.email, NEW.first_name); END;"
            "CREATE TRIGGER w2 AFTER UPDATE ON contacts"
            " BEGIN INSERT INTO writes VALUES (NEW.email, NEW.first_name); END;"
        )
        db.executemany(
            "INSERT INTO contacts (email, first_name, updated_at) VALUES (?, ?, ?)",
            [
                (
                    f"user{i}@core.example",
                    f"User {i}",
                    f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}.000000Z",
                )
                for i in range(contacts)
            ],
        )
    return path


def write_workspace(
    root: Path,
    crm_url: str,
    *,
    flows: str,
    rate: float = 10,
    open_s: float = 5,
    threshold: int = 3,
) -> Path:
    text = "name: crm-test\ncore: core\nsystems:\n  core: {kind: sqlite, path: core.db}\n"
    text += CRM_SYSTEM.format(
        url=crm_url, rate=rate, open_s=open_s, threshold=threshold, secret=SECRET
    )
    text += "flows:\n" + flows
    path = root / "syncwell.yaml"
    path.write_text(text)
    return path


@dataclass
class Crm:
    """The sandbox CRM, seen from a test."""

    url: str
    client: httpx.AsyncClient

    async def faults(self, **knobs: object) -> None:
        (await self.client.post(f"{self.url}/_sandbox/faults", json=knobs)).raise_for_status()

    async def stats(self) -> dict[str, object]:
        answer = await self.client.get(f"{self.url}/_sandbox/stats")
        result: dict[str, object] = answer.json()
        return result

    async def requests(self) -> list[dict[str, object]]:
        answer = await self.client.get(f"{self.url}/_sandbox/requests", params={"limit": 100_000})
        result: list[dict[str, object]] = answer.json()["requests"]
        return result

    async def contacts(self) -> dict[str, dict[str, object]]:
        found: dict[str, dict[str, object]] = {}
        params: dict[str, object] = {"limit": 100}
        headers = {"Authorization": "Bearer sandbox-crm-token"}
        while True:
            page = await self.client.get(f"{self.url}/v1/contacts", params=params, headers=headers)
            if page.status_code != 200:  # the CRM's own faults apply to the test's reads too
                await asyncio.sleep(float(page.headers.get("retry-after", 0.2)))
                continue
            body = page.json()
            found.update({record["email"]: record for record in body["results"]})
            after = body.get("paging", {}).get("next", {}).get("after")
            if after is None:
                return found
            params["after"] = after


@asynccontextmanager
async def crm_sandbox(
    root: Path, *, contacts: int = 0, faults: FaultSettings | None = None, hook_port: int = 0
) -> AsyncIterator[Crm]:
    """The CRM in its own process; with `hook_port`, it sends webhooks to syncwell there."""
    hooks = (
        (WebhookSubscription(url=f"http://127.0.0.1:{hook_port}/hooks/crm", secret=SECRET),)
        if hook_port
        else ()
    )
    config = SandboxConfig(
        data_dir=root / "sandbox",
        crm=CrmConfig(
            port=0,
            contacts=contacts,
            webhooks=hooks,
            faults=faults or FaultSettings(rate_limit_per_s=10),
        ),
        email=EmailConfig(port=0),
        project=ProjectConfig(port=0, tasks=0, faults=FaultSettings()),
    )
    tools = SandboxProcess(config)
    endpoints = await tools.astart()
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            yield Crm(endpoints.crm_url, client)
    finally:
        await tools.astop()


@asynccontextmanager
async def running(workspace: Path, *, port: int = 0) -> AsyncIterator[Engine]:
    """The engine (and, with `port`, its webhook ingress) until the block ends."""
    engine = Engine(load_workspace(workspace), grace_s=5)
    stop = asyncio.Event()
    async with AsyncExitStack() as stack:
        tasks = [asyncio.create_task(engine.run(stop=stop))]
        if port:
            tasks.append(asyncio.create_task(ApiServer(create_app(engine), port=port).serve(stop)))
            await until(lambda: engine.committer is not None, within_s=10)

        async def finish() -> None:
            stop.set()
            await asyncio.gather(*tasks)

        stack.push_async_callback(finish)
        yield engine
