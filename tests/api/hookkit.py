"""A running engine with its HTTP API on loopback, fed by a fake CRM that sends webhooks."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from standardwebhooks import Webhook

from syncwell import Engine, load_workspace
from syncwell.api import ApiServer, create_app
from tests.waiting import until

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

WORKSPACE = """
name: hooks
systems:
  crm:
    kind: sqlite
    path: crm.db
    webhooks:
      secret: {secret}
      streams: {{"contact.*": contacts}}
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
    interval: {interval}
"""


def make_databases(root: Path) -> None:
    """An empty CRM table (reconciliation reads it) and the core table webhooks fill."""
    for name in ("crm", "core"):
        with sqlite3.connect(root / f"{name}.db") as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS contacts (email TEXT NOT NULL PRIMARY KEY, name TEXT, "
                "stage TEXT, updated_at TEXT)"
            )


def write_workspace(root: Path, *, interval: str = "1h") -> Path:
    make_databases(root)
    path = root / "syncwell.yaml"
    path.write_text(WORKSPACE.format(secret=SECRET, interval=interval))
    return path


def core_rows(root: Path) -> dict[str, tuple[str, str, str]]:
    with sqlite3.connect(root / "core.db") as db:
        rows = db.execute("SELECT email, name, stage, updated_at FROM contacts").fetchall()
    return {email: (name, stage, updated) for email, name, stage, updated in rows}


def event(event_id: str, email: str, version: int, *, kind: str = "contact.updated") -> bytes:
    stamp = (dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=version)).isoformat()
    record = {"email": email, "name": f"v{version}", "stage": "lead", "updated_at": stamp}
    return json.dumps({"id": event_id, "type": kind, "data": record}).encode()


def signed(
    event_id: str, body: bytes, *, at: dt.datetime | None = None, secret: str = SECRET
) -> dict[str, str]:
    """Headers the `standardwebhooks` package itself produces for this body."""
    at = at or dt.datetime.now(dt.UTC)
    signature = Webhook(secret).sign(event_id, at, body.decode())
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


@dataclass
class Running:
    engine: Engine
    client: httpx.AsyncClient
    root: Path

    async def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return await self.client.post("/hooks/crm", content=body, headers=headers)

    async def send(self, event_id: str, body: bytes) -> httpx.Response:
        return await self.post(body, signed(event_id, body))

    async def journaled(self) -> int:
        """Changes now waiting in the journal or delivered (webhooks counted by the engine)."""
        return sum(p.hooked for p in self.engine.progress.values())

    async def settled(self, rows: int) -> None:
        """Wait until the core table holds `rows` rows."""
        await until(lambda: len(core_rows(self.root)) >= rows, within_s=20)


@asynccontextmanager
async def running_engine(root: Path, *, interval: str = "1h") -> AsyncIterator[Running]:
    """The engine and its API on a free loopback port, stopped cleanly at the end."""
    engine = Engine(load_workspace(write_workspace(root, interval=interval)), grace_s=5)
    stop = asyncio.Event()
    server = ApiServer(create_app(engine), port=0)
    running = asyncio.create_task(engine.run(stop=stop))
    serving = asyncio.create_task(server.serve(stop))
    try:
        await until(lambda: engine.committer is not None and server.port != 0, within_s=10)
        base = f"http://127.0.0.1:{server.port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            yield Running(engine, client, root)
    finally:
        stop.set()
        await asyncio.gather(running, serving)
