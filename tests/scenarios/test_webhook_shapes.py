"""The sandbox CRM sends webhooks the way real tools do — bulk rows, ids only, a static header
token instead of a signature, one event type for every table — and a running engine keeps the
core right: every row arrives, deletes included, and another table's events never land in
contacts. The CRM runs in-process; the engine listens on real uvicorn on loopback."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from syncwell import Engine, load_workspace
from syncwell.api import ApiServer, create_app
from syncwell.sandbox import Sandbox
from tests.sandbox.conftest import CONTACTS, CRM_AUTH, small_config
from tests.waiting import until, until_true

TOKEN = "parse-style-webhook-key-0123"

WORKSPACE = """
name: shapes
core: core
systems:
  core: {{kind: sqlite, path: core.db}}
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
      auth: {{kind: header, header: X-Parse-Webhook-Key, secret: {token}}}
{webhooks}
flows:
  contacts:
    source: crm
    destination: core
    stream: contacts
    key: email
    cursor: updated_at
    mode: realtime
    interval: 1h
    fields: [email, first_name, updated_at]
"""


@dataclass
class World:
    crm: httpx.AsyncClient
    root: Path
    engine: Engine

    def core(self) -> dict[str, str | None]:
        with sqlite3.connect(self.root / "core.db") as db:
            return dict(db.execute("SELECT email, first_name FROM contacts").fetchall())

    async def upsert(self, *emails: str, name: str = "Ada") -> None:
        inputs = [{"email": email, "first_name": name} for email in emails]
        answer = await self.crm.post("/v1/contacts/batch/upsert", json={"inputs": inputs})
        answer.raise_for_status()

    async def delete(self, email: str) -> None:
        (await self.crm.delete(f"/v1/contacts/{email}")).raise_for_status()

    async def stats(self) -> dict[str, int]:
        answer = await self.crm.get("/_sandbox/stats")
        return dict(answer.json()["webhooks"])


def _count(root: Path) -> int:
    with sqlite3.connect(root / "core.db") as db:
        return int(db.execute("SELECT count(*) FROM contacts").fetchone()[0])


async def _failed_at_least(w: World, count: int) -> bool:
    return (await w.stats())["failed"] >= count


@asynccontextmanager
async def world(root: Path, webhooks: str, **subscription: object) -> AsyncIterator[World]:
    """The CRM, an engine whose `webhooks:` has `webhooks`, and a subscription of that shape."""
    with sqlite3.connect(root / "core.db") as db:
        db.execute(
            "CREATE TABLE contacts (email TEXT PRIMARY KEY, first_name TEXT, updated_at TEXT)"
        )
    async with Sandbox(small_config()) as endpoints:
        text = WORKSPACE.format(url=endpoints.crm_url, token=TOKEN, webhooks=webhooks)
        (root / "syncwell.yaml").write_text(text)
        engine = Engine(load_workspace(root / "syncwell.yaml"), grace_s=5)
        stop = asyncio.Event()
        server = ApiServer(create_app(engine), port=0)
        tasks = [
            asyncio.create_task(engine.run(stop=stop)),
            asyncio.create_task(server.serve(stop)),
        ]
        try:
            await until(lambda: engine.committer is not None and server.port != 0, within_s=10)
            await until(lambda: engine.progress["contacts"].reads >= 1, within_s=20)
            await until(lambda: _count(root) == CONTACTS, within_s=20)  # the first read, delivered
            async with httpx.AsyncClient(base_url=endpoints.crm_url, headers=CRM_AUTH) as crm:
                hook = {
                    "url": f"http://127.0.0.1:{server.port}/hooks/crm",
                    "secret": TOKEN,
                    "auth": "header",
                    "header": "X-Parse-Webhook-Key",
                    **subscription,
                }
                (await crm.post("/v1/webhooks/subscriptions", json=hook)).raise_for_status()
                yield World(crm, root, engine)
        finally:
            stop.set()
            await asyncio.gather(*tasks)


BULK = """
      records: data.rows
      streams: {"contact.*": contacts}
      deletes: ["*.deleted", "*.bulk_deleted"]
"""


async def test_bulk_events_with_a_header_token_apply_every_row(tmp_path: Path) -> None:
    """One upsert of 5 contacts is one bulk event of 5 rows: all 5 arrive; deleted one by one
    in the CRM, each bulk delete removes its row. The interval is 1 h: only webhooks can."""
    async with world(tmp_path, BULK, shape="bulk") as w:
        before = len(w.core())
        emails = [f"bulk{n}@example.com" for n in range(5)]
        await w.upsert(*emails)
        await until(lambda: set(emails) <= set(w.core()), within_s=10)
        for email in emails[:2]:
            await w.delete(email)
        await until(lambda: not {emails[0], emails[1]} & set(w.core()), within_s=10)
        assert set(emails[2:]) <= set(w.core()) and len(w.core()) == before + 3
        stats = await w.stats()
        assert stats["sent"] == 3 and stats["failed"] == 0  # 1 bulk upsert + 2 bulk deletes


THIN = """
      ids: data.ids
      streams: {"contact.*": contacts}
"""


async def test_thin_events_are_read_from_the_crm_at_once(tmp_path: Path) -> None:
    """Events with ids only: the engine reads the records from the CRM within seconds (not at
    the 1 h interval), and a thin delete deletes without a read."""
    async with world(tmp_path, THIN, shape="thin") as w:
        started = time.monotonic()
        await w.upsert("thin1@example.com", "thin2@example.com", name="Thin")
        await until(
            lambda: {"thin1@example.com", "thin2@example.com"} <= set(w.core()), within_s=10
        )
        arrived_s = time.monotonic() - started
        assert arrived_s < 5  # measured 0.3 s: the intake is woken, not left to its interval
        assert w.core()["thin1@example.com"] == "Thin"
        await w.delete("thin1@example.com")
        await until(lambda: "thin1@example.com" not in w.core(), within_s=10)
        assert (await w.stats())["failed"] == 0


GENERIC = """
      route_by: data.table_name
      streams: {contacts: contacts}
"""


async def test_another_tables_events_never_reach_contacts(tmp_path: Path) -> None:
    """Every table's events are `records.after.update`; routed by data.table_name, a
    companies event is refused (422, so the CRM counts it failed) and contacts stays right."""
    async with world(tmp_path, GENERIC, types="generic") as w:
        before = w.core()
        touched = await w.crm.post("/_sandbox/companies/touch", json={"count": 2})
        touched.raise_for_status()
        await w.upsert("routed@example.com", name="Routed")
        await until(lambda: "routed@example.com" in w.core(), within_s=10)
        # The companies' events are refused (4 tries each), so the CRM counts them failed.
        await until_true(lambda: _failed_at_least(w, 2), within_s=10)
        after = w.core()
        assert set(after) - set(before) == {"routed@example.com"}
        assert all("@" in key for key in after)  # no company domain ever became a contact
