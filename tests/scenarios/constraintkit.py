"""The core app (SQLite) and the sandbox's three tools in their own process, wired into one
workspace, for scenarios whose constraint is planted: run the engine, then analyse."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from syncwell import Engine, load_workspace
from syncwell.analyze import Analysis, FlowVerdict, analyze
from syncwell.sandbox import (
    CrmConfig,
    EmailConfig,
    FaultSettings,
    ProjectConfig,
    SandboxConfig,
    SandboxEndpoints,
    SandboxProcess,
)
from syncwell.store import open_store
from syncwell.types import SystemClock
from syncwell.workspace import Workspace
from tests.waiting import until

WINDOW_S = 600.0
"""The analyses' window: read in whole hours, so it covers the test's runs."""

QUIET = FaultSettings()
"""A tool that behaves."""

_SYSTEMS = """\
  core: {{kind: sqlite, path: core.db}}
  crm:
    kind: http
    base_url: {crm_url}
    auth: {{type: bearer, token: sandbox-crm-token}}
    rate_limit: {{per_second: {crm_rate}}}
    retry: {{base_s: 0.2, cap_s: 1, max_attempts: 3}}
    breaker: {{failure_threshold: 3, open_s: 2, max_open_s: 2}}
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
            max_batch: {crm_batch}
          errors: {{path: errors, index: index, key: email, message: message}}
  email:
    kind: http
    base_url: {email_url}
    auth: {{type: api_key, header: X-Api-Key, key: sandbox-email-key}}
    retry: {{base_s: 0.2, cap_s: 1, max_attempts: 3}}
    breaker: {{failure_threshold: 1, open_s: 2, max_open_s: 2}}
    streams:
      members:
        write:
          upsert:
            method: POST
            path: /api/lists/main/members:batch
            body: {{members: "{{{{records}}}}"}}
            item:
              email: "{{{{record.email}}}}"
              first_name: "{{{{record.first_name}}}}"
              status: subscribed
            max_batch: 500
          errors: {{path: errors, index: index, key: email, message: message}}
  projects:
    kind: http
    base_url: {project_url}
    auth: {{type: basic, username: sandbox, password: sandbox-project-pass}}
    rate_limit: {{per_second: 2}}
    streams:
      tasks:
        read:
          path: /api/v2/tasks
          records: data
          total: total
          pagination: {{style: offset, offset_param: offset, limit_param: limit, page_size: 50}}
          incremental: {{param: modified_after, format: iso}}
"""

_FLOWS = {
    "to_crm": """\
  to_crm:
    source: core
    destination: crm
    stream: contacts
    key: email
    cursor: updated_at
    interval: {interval}
    lookback: 0s
    batch_size: {batch}
    fields: [email, first_name, updated_at]
    slo: {{freshness: {slo}}}
""",
    "to_email": """\
  to_email:
    source: core
    destination: email
    stream: contacts
    target: members
    key: email
    cursor: updated_at
    interval: {interval}
    lookback: 0s
    batch_size: {batch}
    fields: [email, first_name, updated_at]
    slo: {{freshness: {slo}}}
""",
    "leads": """\
  leads:
    source: crm
    destination: core
    stream: contacts
    target: leads
    key: email
    cursor: updated_at
    interval: {interval}
    lookback: 0s
    batch_size: {batch}
    fields: [email, first_name, updated_at]
    slo: {{freshness: {slo}}}
""",
    "tasks": """\
  tasks:
    source: projects
    destination: core
    stream: tasks
    key: id
    cursor: modified_at
    interval: {interval}
    lookback: 0s
    batch_size: {batch}
    fields: [id, title, status, modified_at]
    slo: {{freshness: {slo}}}
""",
}


@dataclass(frozen=True)
class FlowSpec:
    """One of the kit's flows (`to_crm`, `to_email`, `leads`, `tasks`) and its settings."""

    name: str
    interval: str = "1s"
    slo: str = "15m"
    batch: int = 500


def stamp(moment: float | None = None) -> str:
    """An instant as the CRM writes it (ISO, microseconds, Z), so cursors order alike."""
    at = datetime.fromtimestamp(time.time() if moment is None else moment, UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def make_core(root: Path, contacts: int, *, bad_every: int = 0) -> Path:
    """The core: `contacts` signups (every `bad_every`-th with a mistyped email), and empty
    `leads` and `tasks` tables for what the tools send back."""
    path = root / "core.db"
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE,"
            " first_name TEXT, updated_at TEXT NOT NULL);"
            "CREATE TABLE leads (email TEXT PRIMARY KEY, first_name TEXT, updated_at TEXT);"
            "CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT, status TEXT,"
            " modified_at TEXT);"
        )
        start = time.time() - 86400 * 30
        db.executemany(
            "INSERT INTO contacts (email, first_name, updated_at) VALUES (?, ?, ?)",
            [
                (email(i, bad_every), f"User {i}", stamp(start + i * 60))
                for i in range(1, contacts + 1)
            ],
        )
    return path


def email(number: int, bad_every: int = 0) -> str:
    """Signup `number`'s address; every `bad_every`-th is mistyped (no @), as people do."""
    if bad_every and number % bad_every == 0:
        return f"user{number}.core.example"
    return f"user{number}@core.example"


def add_signups(root: Path, first: int, count: int) -> None:
    """`count` new signups from number `first`, stamped now."""
    with sqlite3.connect(root / "core.db") as db:
        db.executemany(
            "INSERT INTO contacts (email, first_name, updated_at) VALUES (?, ?, ?)",
            [(email(n), f"User {n}", stamp()) for n in range(first, first + count)],
        )


@asynccontextmanager
async def signing_up(root: Path, *, per_s: float) -> AsyncIterator[None]:
    """New signups in the core at `per_s` a second while the block runs."""

    async def sign_up() -> None:
        number, started = 1_000_000, time.monotonic()
        while True:
            due = round((time.monotonic() - started) * per_s)
            if due:
                add_signups(root, number, due)
                number += due
                started += due / per_s
            await asyncio.sleep(0.1)

    task = asyncio.create_task(sign_up())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@dataclass
class Tools:
    """The three tools, seen from a test."""

    endpoints: SandboxEndpoints
    client: httpx.AsyncClient

    def url(self, tool: str) -> str:
        return str(getattr(self.endpoints, f"{tool}_url"))

    async def faults(self, tool: str, **knobs: object) -> None:
        """Turn `tool`'s fault knobs (crm, email or project)."""
        answer = await self.client.post(f"{self.url(tool)}/_sandbox/faults", json=knobs)
        answer.raise_for_status()

    async def stats(self, tool: str) -> dict[str, object]:
        answer = await self.client.get(f"{self.url(tool)}/_sandbox/stats")
        result: dict[str, object] = answer.json()
        return result


@asynccontextmanager
async def sandbox(
    root: Path,
    *,
    crm: FaultSettings = QUIET,
    email: FaultSettings = QUIET,
    project: FaultSettings = QUIET,
    leads: int = 50,
    tasks: int = 50,
) -> AsyncIterator[Tools]:
    """The CRM (with `leads` contacts), the email platform and the project tool (with
    `tasks`), in one child process, each with its faults."""
    config = SandboxConfig(
        data_dir=root / "sandbox",
        crm=CrmConfig(port=0, contacts=leads, faults=crm),
        email=EmailConfig(port=0, visibility_delay_s=0, faults=email),
        project=ProjectConfig(port=0, tasks=tasks, faults=project),
    )
    process = SandboxProcess(config)
    endpoints = await process.astart()
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            yield Tools(endpoints, client)
    finally:
        await process.astop()


def write_workspace(
    root: Path,
    tools: Tools,
    flows: Sequence[FlowSpec],
    *,
    crm_rate: float = 10,
    crm_batch: int = 100,
    state: str | None = None,
) -> Workspace:
    """syncwell.yaml for the core, the three tools and `flows`; the workspace loaded."""
    text = "name: constraint\ncore: core\n"
    if state is not None:
        text += f"state: {state}\n"
    text += "systems:\n" + _SYSTEMS.format(
        crm_url=tools.url("crm"),
        email_url=tools.url("email"),
        project_url=tools.url("project"),
        crm_rate=crm_rate,
        crm_batch=crm_batch,
    )
    text += "flows:\n" + "".join(
        _FLOWS[f.name].format(interval=f.interval, slo=f.slo, batch=f.batch) for f in flows
    )
    path = root / "syncwell.yaml"
    path.write_text(text)
    return load_workspace(path)


@dataclass
class Run:
    """An engine run: the engine, and when it started and stopped (Unix seconds)."""

    engine: Engine
    started: float
    stopped: float = 0.0


@asynccontextmanager
async def running(
    workspace: Workspace, *, measure_every_s: float = 1.0, clock: SystemClock | None = None
) -> AsyncIterator[Run]:
    """The engine, measuring every `measure_every_s`, until the block ends. It keeps no
    analyses of its own: the tests' are the only ones."""
    clock = clock or SystemClock()
    engine = Engine(
        workspace,
        clock=clock,
        grace_s=2,
        measure_every_s=measure_every_s,
        analyse_every_s=None,
    )
    stop = asyncio.Event()
    run = Run(engine, clock.wall())
    task = asyncio.create_task(engine.run(stop=stop))
    try:
        yield run
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
        run.stopped = clock.wall()


async def drained(engine: Engine, *, within_s: float = 20) -> None:
    """Wait until every flow has delivered all it read."""
    await until(
        lambda: all(p.settled >= p.read for p in engine.progress.values()),
        within_s=within_s,
    )


async def analysis_of(
    workspace: Workspace,
    *,
    window_s: float = WINDOW_S,
    at: float | None = None,
    what_if: Sequence[str] = (),
) -> Analysis:
    """The constraint analysis of the workspace's measurements (kept, unless a what-if)."""
    store = await open_store(workspace.state)
    try:
        return await analyze(store, workspace=workspace, window_s=window_s, at=at, what_if=what_if)
    finally:
        await store.close()


def verdicts(analysis: Analysis) -> str:
    """Every flow's verdict, one a line: what a failed assertion shows."""
    return "\n".join(_line(v) for v in analysis.flows) + f"\nsummary: {analysis.summary}"


def _line(v: FlowVerdict) -> str:
    capacity = "-" if v.capacity_per_min is None else f"{v.capacity_per_min:.0f}"
    return (
        f"{v.flow} ({v.integration}): reason={v.reason} severity={v.severity:.2f} "
        f"burn={v.burn:.2f} demand={v.demand_per_min:.1f}/min capacity={capacity} "
        f"({v.capacity_bound}) utilisation={v.utilisation} budget_use={v.budget_use} "
        f"floor={v.freshness_floor_s} late={v.late_share:.3f} refused={v.failure_share:.3f} "
        f"retried={v.retry_share:.3f} down={v.downtime_share:.3f}"
    )
