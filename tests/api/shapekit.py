"""An engine whose CRM sends webhooks shaped as real senders shape them, on real uvicorn.

The CRM is a SQLite file with `contacts` and `companies` (the flows' reconciliation and the
thin events' re-reads read it); the core is another. `running_shapes` takes the CRM's
`webhooks:` section as YAML, so each test configures the shape it is about.
"""

from __future__ import annotations

import asyncio
import sqlite3
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from syncwell import Engine, load_workspace
from syncwell.api import ApiServer, create_app
from tests.waiting import until

WORKSPACE = """
name: shapes
systems:
  crm:
    kind: sqlite
    path: crm.db
    webhooks:
{webhooks}
  core:
    kind: sqlite
    path: core.db
core: core
flows:
  contacts:
    source: crm
    destination: core
    stream: contacts
    key: email
    cursor: updated_at
    mode: realtime
    interval: 1h
  companies:
    source: crm
    destination: core
    stream: companies
    key: domain
    cursor: updated_at
    mode: realtime
    interval: 1h
"""


def make_databases(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for name in ("crm", "core"):
        with sqlite3.connect(root / f"{name}.db") as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS contacts (email TEXT NOT NULL PRIMARY KEY, "
                "name TEXT, updated_at TEXT)"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS companies (domain TEXT NOT NULL PRIMARY KEY, "
                "name TEXT, updated_at TEXT)"
            )


def write_workspace(root: Path, webhooks: str) -> Path:
    make_databases(root)
    path = root / "syncwell.yaml"
    section = textwrap.indent(textwrap.dedent(webhooks).strip("\n"), " " * 6)
    path.write_text(WORKSPACE.format(webhooks=section))
    return path


def rows(root: Path, table: str = "contacts", db: str = "core") -> dict[str, tuple[str, str]]:
    key = "email" if table == "contacts" else "domain"
    with sqlite3.connect(root / f"{db}.db") as connection:
        found = connection.execute(f"SELECT {key}, name, updated_at FROM {table}").fetchall()
    return {k: (name, updated) for k, name, updated in found}


def write_crm(root: Path, email: str, name: str, updated_at: str) -> None:
    """A change made in the CRM itself (what a thin event announces)."""
    with sqlite3.connect(root / "crm.db") as db:
        db.execute(
            "INSERT INTO contacts VALUES (?, ?, ?) ON CONFLICT (email) DO UPDATE SET "
            "name = excluded.name, updated_at = excluded.updated_at",
            (email, name, updated_at),
        )


def state(root: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(root / ".syncwell" / "state.db") as db:
        return db.execute(sql).fetchall()


@dataclass
class Shapes:
    engine: Engine
    client: httpx.AsyncClient
    root: Path

    async def post(
        self, body: bytes, headers: dict[str, str] | None = None, path: str = "/hooks/crm"
    ) -> httpx.Response:
        return await self.client.post(path, content=body, headers=headers or {})


@asynccontextmanager
async def running_shapes(root: Path, webhooks: str) -> AsyncIterator[Shapes]:
    """The engine and its API on a free loopback port, stopped cleanly at the end."""
    engine = Engine(load_workspace(write_workspace(root, webhooks)), grace_s=5)
    stop = asyncio.Event()
    server = ApiServer(create_app(engine), port=0)
    running = asyncio.create_task(engine.run(stop=stop))
    serving = asyncio.create_task(server.serve(stop))
    try:
        await until(lambda: engine.committer is not None and server.port != 0, within_s=10)
        # The first full reads are done, so what a test sends is what arrives next.
        await until(lambda: all(p.reads >= 1 for p in engine.progress.values()), within_s=10)
        base = f"http://127.0.0.1:{server.port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            yield Shapes(engine, client, root)
    finally:
        stop.set()
        await asyncio.gather(running, serving)
