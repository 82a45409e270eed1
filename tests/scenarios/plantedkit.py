"""The kit of the planted-truth scenarios (issue 13): workspaces of the core and the sandbox's
three tools in the shapes those scenarios need, and people working in the tools
(plantedgrade.py holds the grade of an analysis against the answer known in advance).

It builds on constraintkit (the sandbox in its own process, the engine run, the analysis) and
adds what that kit cannot say: a core in PostgreSQL whose writes are slow, a CRM that sends
webhooks to a realtime flow, a manual step, a source key that allows NULL.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from syncwell import load_workspace
from syncwell.api import ApiServer, create_app
from syncwell.measure import MinuteRecorder
from syncwell.sandbox import (
    CrmConfig,
    EmailConfig,
    FaultSettings,
    ProjectConfig,
    SandboxConfig,
    SandboxThread,
)
from syncwell.store import Store
from syncwell.workspace import Workspace
from tests.conftest import PG_DSN
from tests.scenarios.constraintkit import QUIET, Run, Tools, email, stamp
from tests.scenarios.crmkit import SECRET, free_port
from tests.waiting import until

__all__ = [
    "Step",
    "hooked",
    "make_core",
    "pg_core",
    "record_hour",
    "sandboxed",
    "subscribe",
    "unsubscribe",
    "working",
    "write_workspace",
]

_CORE_SQLITE = "  core: {kind: sqlite, path: core.db}\n"
_CORE_POSTGRES = '  core: {{kind: postgres, dsn: "{dsn}", schema: {schema}}}\n'

_TOOLS = """\
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
            max_batch: 100
          errors: {{path: errors, index: index, key: email, message: message}}
{crm_hooks}\
  email:
    kind: http
    base_url: {email_url}
    auth: {{type: api_key, header: X-Api-Key, key: sandbox-email-key}}
    retry: {{base_s: 0.2, cap_s: 1, max_attempts: 3}}
    breaker: {{failure_threshold: 3, open_s: 2, max_open_s: 2}}
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
    rate_limit: {{per_second: {project_rate}}}
    retry: {{base_s: 0.2, cap_s: 1, max_attempts: 3}}
    streams:
      tasks:
        read:
          path: /api/v2/tasks
          records: data
          total: total
          pagination: {{style: offset, offset_param: offset, limit_param: limit, page_size: 50}}
          incremental: {{param: modified_after, format: iso}}
"""

_CRM_HOOKS = """\
    webhooks:
      secret: {secret}
      streams: {{"contact.*": contacts}}
"""

_FLOWS = {
    "to_crm": "source: core, destination: crm, stream: contacts, key: email, "
    "cursor: updated_at, fields: [email, first_name, updated_at]",
    "to_email": "source: core, destination: email, stream: contacts, target: members, "
    "key: email, cursor: updated_at, fields: [email, first_name, updated_at]",
    "leads": "source: crm, destination: core, stream: contacts, target: leads, key: email, "
    "cursor: updated_at, fields: [email, first_name, updated_at]",
    "tasks": "source: projects, destination: core, stream: tasks, key: id, "
    "cursor: modified_at, fields: [id, title, status, modified_at]",
    "onboarding": "source: core, destination: projects, stream: contacts, target: tasks, "
    "key: email",
}
"""Each flow the scenarios use, less its timing; `onboarding` is done by people."""


@dataclass(frozen=True)
class Step:
    """One flow of a scenario's workspace (a name in `_FLOWS`) and how it runs; `manual` is
    written as the flow's `manual:` field, as it stands (a manual step's own fields)."""

    name: str
    interval: str | None = "1s"
    slo: str = "15m"
    batch: int = 500
    mode: str = "poll"
    manual: str = ""

    def yaml(self) -> str:
        """The flow's entry under `flows:`, as one YAML flow mapping."""
        text = f"  {self.name}: {{{_FLOWS[self.name]}, mode: {self.mode}, "
        text += f"batch_size: {self.batch}, lookback: 0s, slo: {{freshness: {self.slo}}}"
        if self.interval is not None:
            text += f", interval: {self.interval}"
        if self.manual:
            text += f", manual: {self.manual}"
        return text + "}\n"


def write_workspace(
    root: Path,
    tools: Tools | None,
    steps: Sequence[Step],
    *,
    core_schema: str | None = None,
    crm_hooks: bool = False,
    crm_rate: float = 10,
    project_rate: float = 5,
) -> Workspace:
    """syncwell.yaml for the core (SQLite, or PostgreSQL in `core_schema`), the three tools
    (the CRM sending webhooks with `crm_hooks`; the CRM's and the project tool's request
    budgets, a second) and `steps`; the workspace loaded. Without `tools` (nothing will run)
    the tools' addresses are a port nobody listens on."""
    if core_schema is None:
        core = _CORE_SQLITE
    else:
        core = _CORE_POSTGRES.format(dsn=PG_DSN, schema=core_schema)
    text = "name: planted\ncore: core\nsystems:\n" + core
    nowhere = "http://127.0.0.1:9"
    text += _TOOLS.format(
        crm_url=tools.url("crm") if tools else nowhere,
        email_url=tools.url("email") if tools else nowhere,
        project_url=tools.url("project") if tools else nowhere,
        crm_hooks=_CRM_HOOKS.format(secret=SECRET) if crm_hooks else "",
        crm_rate=crm_rate,
        project_rate=project_rate,
    )
    text += "flows:\n" + "".join(step.yaml() for step in steps)
    path = root / "syncwell.yaml"
    path.write_text(text)
    return load_workspace(path)


def make_core(root: Path, contacts: int, *, key_allows_null: bool = False) -> Path:
    """The core in SQLite: `contacts` signups a month old, and the `leads` and `tasks` the
    tools send back, every key NOT NULL, unless `key_allows_null`: then the contacts' key
    (email) allows NULL, and every tenth signup left it empty, as a careless schema lets
    people do."""
    path = root / "core.db"
    email_column = "email TEXT UNIQUE" if key_allows_null else "email TEXT NOT NULL UNIQUE"
    with sqlite3.connect(path) as db:
        db.executescript(
            f"CREATE TABLE contacts (id INTEGER PRIMARY KEY, {email_column},"
            " first_name TEXT, updated_at TEXT NOT NULL);"
            "CREATE TABLE leads (email TEXT NOT NULL PRIMARY KEY, first_name TEXT,"
            " updated_at TEXT);"
            "CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT, status TEXT,"
            " modified_at TEXT);"
        )
        start = time.time() - 86400 * 30
        db.executemany(
            "INSERT INTO contacts (email, first_name, updated_at) VALUES (?, ?, ?)",
            [
                (
                    None if key_allows_null and i % 10 == 0 else email(i),
                    f"User {i}",
                    stamp(start + i * 60),
                )
                for i in range(1, contacts + 1)
            ],
        )
    return path


_SLOW_CORE = """
CREATE TABLE {schema}.leads (email text PRIMARY KEY, first_name text, updated_at text);
CREATE TABLE {schema}.tasks (id bigint PRIMARY KEY, title text, status text, modified_at text);
CREATE FUNCTION {schema}.slow_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Once a transaction (a batch), however many statements the merge takes.
    IF current_setting('planted.slowed', true) IS DISTINCT FROM 'yes' THEN
        PERFORM set_config('planted.slowed', 'yes', true);
        PERFORM pg_sleep({write_s});
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER slow_leads AFTER INSERT OR UPDATE ON {schema}.leads
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.slow_write();
CREATE TRIGGER slow_tasks AFTER INSERT OR UPDATE ON {schema}.tasks
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.slow_write();
"""


@asynccontextmanager
async def sandboxed(
    *,
    crm: FaultSettings = QUIET,
    email: FaultSettings = QUIET,
    project: FaultSettings = QUIET,
    leads: int = 20,
    tasks: int = 20,
) -> AsyncIterator[Tools]:
    """The CRM (with `leads` contacts), the email platform and the project tool (with
    `tasks`), each with its faults, in memory, served on a thread of their own with its own
    event loop. (constraintkit's child process costs 4 s a scenario to start and stop, half
    the run; real HTTP on loopback either way.)"""
    config = SandboxConfig(
        crm=CrmConfig(port=0, contacts=leads, faults=crm),
        email=EmailConfig(port=0, visibility_delay_s=0, faults=email),
        project=ProjectConfig(port=0, tasks=tasks, faults=project),
    )
    thread = SandboxThread(config)
    endpoints = await asyncio.to_thread(thread.start)
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            yield Tools(endpoints, client)
    finally:
        await asyncio.to_thread(thread.stop)


@asynccontextmanager
async def pg_core(*, write_s: float) -> AsyncIterator[str]:
    """A schema in the machine's PostgreSQL holding the core's `leads` and `tasks`, where
    every write transaction takes `write_s` seconds more (as a core under load does); its
    name. Dropped after."""
    schema = f"planted_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(PG_DSN)
    try:
        await connection.execute(f"CREATE SCHEMA {schema}")
        await connection.execute(_SLOW_CORE.format(schema=schema, write_s=write_s))
        yield schema
    finally:
        await connection.execute(f"DROP SCHEMA {schema} CASCADE")
        await connection.close()


@asynccontextmanager
async def working(
    tools: Tools, *, leads_per_s: float = 0.0, tasks_per_s: float = 0.0
) -> AsyncIterator[None]:
    """People at work while the block runs: new leads in the CRM and tasks moved along in the
    project tool, at these rates a second (through the tools' own simulation routes, which
    change records as the API does and send the CRM's webhooks)."""
    routes = [
        (f"{tools.url('crm')}/_sandbox/contacts/create", leads_per_s),
        (f"{tools.url('project')}/_sandbox/tasks/touch", tasks_per_s),
    ]

    async def work(url: str, per_s: float) -> None:
        done, started = 0, time.monotonic()
        while True:
            due = int((time.monotonic() - started) * per_s) - done
            if due > 0:
                (await tools.client.post(url, json={"count": due})).raise_for_status()
                done += due
            await asyncio.sleep(0.1)

    tasks = [asyncio.create_task(work(url, per_s)) for url, per_s in routes if per_s > 0]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        ended = await asyncio.gather(*tasks, return_exceptions=True)
    failed = [error for error in ended if isinstance(error, Exception)]
    if failed:  # the work stopped early: the scenario did not get the changes it planted
        raise failed[0]


async def subscribe(tools: Tools, port: int) -> str:
    """Subscribe syncwell's webhook ingress on `port` to the CRM's changes; the id."""
    answer = await _admin_call(
        tools,
        "POST",
        f"{tools.url('crm')}/v1/webhooks/subscriptions",
        {"url": f"http://127.0.0.1:{port}/hooks/crm", "secret": SECRET},
    )
    return str(answer.json()["id"])


async def _admin_call(
    tools: Tools, method: str, url: str, body: Mapping[str, object] | None = None
) -> httpx.Response:
    """A call to the CRM's own API as its admin would make it: tried again while the CRM's
    planted faults (429s, 5xx) refuse it."""
    headers = {"Authorization": "Bearer sandbox-crm-token"}
    for _ in range(20):
        answer = await tools.client.request(method, url, json=body, headers=headers)
        if answer.status_code < 429:
            break
        await asyncio.sleep(0.1)
    answer.raise_for_status()
    return answer


async def unsubscribe(tools: Tools, subscription: str) -> None:
    """The CRM stops sending to syncwell, and nobody is told (as a vendor that disables a
    subscription does)."""
    await _admin_call(
        tools, "DELETE", f"{tools.url('crm')}/v1/webhooks/subscriptions/{subscription}"
    )


@asynccontextmanager
async def hooked(run: Run) -> AsyncIterator[int]:
    """The running engine's HTTP API (webhook ingress) on a free port, until the block ends;
    the port."""
    port = free_port()
    stop = asyncio.Event()
    server = asyncio.create_task(ApiServer(create_app(run.engine), port=port).serve(stop))
    try:
        await until(lambda: run.engine.committer is not None, within_s=10)
        yield port
    finally:
        stop.set()
        await server


async def record_hour(store: Store, start: float, flows: Mapping[str, tuple[int, float]]) -> None:
    """An hour of measurements from `start`, kept as the engine keeps them (its recorder, on a
    clock of our own, then the store): per flow, (changes taken in and written each minute, in
    one batch; seconds that batch takes to write)."""
    clock = start
    recorder = MinuteRecorder(lambda: clock)
    for minute in range(60):
        clock = start + minute * 60 + 30
        for flow, (changes, write_s) in flows.items():
            recorder.took_in(flow, changes)
            recorder.delivered(
                flow,
                written=changes,
                attempts=1,
                retries_transient=0,
                retries_rate_limited=0,
                dead_lettered=0,
                write_s=write_s,
                lag_s=1.0,
            )
            recorder.sampled(flow, backlog=0, breaker_open_s=0.0, headroom=None, requests=changes)
    clock = start + 3600
    for flow in flows:  # the hour's last half minute counts as measured too
        recorder.sampled(flow, backlog=0, breaker_open_s=0.0, headroom=None)
    await store.measurements.add([row.as_row() for row in recorder.drain()])
