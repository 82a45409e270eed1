"""One rate-limited sync: N contacts from a SQLite core table to the sandbox CRM.

The sandbox runs in a child process (`SandboxProcess`), fresh for every sync, so its window,
counters and request log start empty and its event loop is not ours. The engine runs in this
process (`Engine(...).run(once=True)`), as `syncwell run --once` would run it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from syncwell import Engine, load_workspace
from syncwell.sandbox import (
    CrmConfig,
    EmailConfig,
    FaultSettings,
    ProjectConfig,
    SandboxConfig,
    SandboxProcess,
)

__all__ = ["Setup", "Synced", "run_sync", "write_core"]

BUDGET_PER_S = 10
"""The CRM's limit: requests per fixed one-second window (the sandbox's default)."""

UPSERT_PATH = "/v1/contacts/batch/upsert"

_FLOW = "contacts_to_crm"
_EPOCH = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)

# The demo workspace's crm system (src/syncwell/demo/workspace.py), writing only.
_WORKSPACE = """\
name: bench-rate-limited-sync
state: sqlite:///{state}
core: core
systems:
  core:
    kind: sqlite
    path: {core}
  crm:
    kind: http
    base_url: {crm_url}
    auth: {{type: bearer, token: sandbox-crm-token}}
{rate_limit}    streams:
      contacts:
        write:
          upsert:
            method: POST
            path: {upsert}
            body: {{inputs: "{{{{records}}}}"}}
            item:
              email: "{{{{record.email}}}}"
              first_name: "{{{{record.first_name}}}}"
              last_name: "{{{{record.last_name}}}}"
              phone: "{{{{record.phone}}}}"
            max_batch: 100
          errors: {{path: errors, index: index, key: email, message: message}}
flows:
  {flow}:
    source: core
    destination: crm
    stream: contacts
    key: email
    cursor: updated_at
    batch_size: {batch_size}
    fields: [email, first_name, last_name, phone, updated_at]
"""

_CORE = """
CREATE TABLE contacts (
    email TEXT NOT NULL PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    phone TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class Setup:
    """One configuration to measure: what the workspace declares about the CRM's budget."""

    name: str
    declared_per_s: float | None
    """`rate_limit: {per_second: ...}` of the crm system; None declares nothing."""


@dataclass(frozen=True, slots=True)
class Synced:
    """What one sync did, as the engine and the CRM each saw it."""

    setup: Setup
    turn: int
    contacts: int
    seconds: float
    """The engine's whole run, start-up and the read of the core table included."""
    delivered: int
    dead_lettered: int
    last_error: str
    crm_contacts: int
    stats: dict[str, object]
    requests: list[dict[str, object]]
    """The CRM's log of the run's API requests, oldest first (`GET /_sandbox/requests`)."""
    wall_minus_mono: float
    """time.time() - time.monotonic() here; the sandbox's windows are whole monotonic seconds
    of the same system clock, so this maps a logged arrival (wall) to its window."""

    @property
    def verified(self) -> bool:
        """The CRM holds every contact (its key is the email: no two alike), none dead-lettered."""
        return self.crm_contacts == self.contacts and self.dead_lettered == 0


def write_core(path: Path, contacts: int) -> None:
    """The core table: `contacts` rows, each a valid CRM contact, updated_at strictly rising.

    One minute apart: a `--once` run reads the table again after the full read, from five
    minutes (the flow's look-back) behind the newest row, so only five rows are read twice.
    """
    rows = (
        (
            f"contact{n:07d}@bench{n % 97}.example.com",
            f"First{n}",
            f"Last{n % 1000}",
            f"+1-555-{n % 10000:04d}",
            (_EPOCH + dt.timedelta(minutes=n)).isoformat(timespec="microseconds"),
        )
        for n in range(contacts)
    )
    with sqlite3.connect(path) as db:
        db.execute(_CORE)
        db.executemany("INSERT INTO contacts VALUES (?, ?, ?, ?, ?)", rows)


def _workspace(folder: Path, crm_url: str, setup: Setup, core: Path, batch_size: int) -> Path:
    declared = setup.declared_per_s
    rate_limit = "" if declared is None else f"    rate_limit: {{per_second: {declared:g}}}\n"
    path = folder / "syncwell.yaml"
    path.write_text(
        _WORKSPACE.format(
            state=folder / "state.db",
            core=core,
            crm_url=crm_url,
            rate_limit=rate_limit,
            upsert=UPSERT_PATH,
            flow=_FLOW,
            batch_size=batch_size,
        ),
        encoding="utf-8",
    )
    return path


def _sandbox_config() -> SandboxConfig:
    # Every port free, so this runs beside the demo and other benchmarks; no seed contacts, so
    # the CRM's count after the sync is ours alone.
    return SandboxConfig(
        crm=CrmConfig(port=0, contacts=0, companies=1, faults=FaultSettings(rate_limit_per_s=10)),
        email=EmailConfig(port=0),
        project=ProjectConfig(port=0, tasks=0),
    )


def _get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


async def run_sync(
    setup: Setup, turn: int, folder: Path, core: Path, contacts: int, batch_size: int
) -> Synced:
    """Start a fresh CRM, sync the core table into it once, and collect both sides' view.

    `folder` is this sync's own: its workspace and state store; `core` may be shared.
    """
    async with SandboxProcess(_sandbox_config()) as endpoints:
        workspace = _workspace(folder, endpoints.crm_url, setup, core, batch_size)
        engine = Engine(load_workspace(workspace))
        started = time.perf_counter()
        await engine.run(once=True)
        seconds = time.perf_counter() - started
        crm = endpoints.crm_url
        stats = await asyncio.to_thread(_get, f"{crm}/_sandbox/stats")
        log = await asyncio.to_thread(_get, f"{crm}/_sandbox/requests?limit=100000")
    assert isinstance(stats, dict) and isinstance(log, dict)
    requests = log["requests"]
    if len(requests) != stats["requests_total"]:
        raise SystemExit(f"the CRM kept {len(requests):,} of its requests: sync fewer contacts")
    progress = engine.progress[_FLOW]
    records = stats["records"]
    assert isinstance(records, dict)
    return Synced(
        setup=setup,
        turn=turn,
        contacts=contacts,
        seconds=seconds,
        delivered=progress.written,
        dead_lettered=progress.dead_lettered,
        last_error=progress.last_error,
        crm_contacts=int(records["contacts"]),
        stats=stats,
        requests=requests,
        wall_minus_mono=time.time() - time.monotonic(),
    )
