"""Creating the demo's databases and workspace file."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

__all__ = ["change_some_contacts", "prepare"]

CONTACTS = 20_000

_WORKSPACE = """\
# The syncwell demo: leads arrive in the CRM, sync into the core app, and the core feeds the
# email platform's audience. `syncwell check -w {folder}/syncwell.yaml` draws it.
name: demo
core: app
systems:
  crm:
    kind: sqlite
    path: crm.db
  app:
    kind: sqlite
    path: app.db
  email:
    kind: sqlite
    path: email.db
flows:
  contacts:
    source: crm
    destination: app
    stream: contacts
    key: id
    cursor: updated_at
    mode: poll
    interval: 30s
    lookback: 5m
    batch_size: 2000
    slo: {{freshness: 5m, success_rate: 0.99}}
  audience:
    source: app
    destination: email
    stream: contacts
    target: members
    key: id
    cursor: updated_at
    mode: batch
    interval: 5m
    fields:
      {{id: id, email: address, first_name: first_name, stage: segment,
       updated_at: updated_at}}
  onboarding_call:
    source: app
    destination: crm
    stream: contacts
    target: contacts
    key: id
    mode: manual
workflows:
  lead_to_inbox: [contacts, audience]
"""

_FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Linus", "Radia", "Tim"]
_LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Hamilton", "Perlman"]
_STAGES = ["lead", "qualified", "customer", "churned"]


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def prepare(folder: Path, *, seed: int = 7) -> Path:
    """Create the demo folder (once) and return its workspace file."""
    folder.mkdir(parents=True, exist_ok=True)
    workspace = folder / "syncwell.yaml"
    workspace.write_text(_WORKSPACE.format(folder=folder))
    crm = folder / "crm.db"
    if not crm.exists():
        _seed_crm(crm, random.Random(seed))  # noqa: S311 - demo data, not secrets
    with sqlite3.connect(folder / "app.db") as app:
        app.execute(
            "CREATE TABLE IF NOT EXISTS contacts (id INTEGER PRIMARY KEY, email TEXT NOT NULL,"
            " first_name TEXT, last_name TEXT, company TEXT, stage TEXT, score INTEGER,"
            " updated_at TEXT NOT NULL)"
        )
        app.execute("CREATE INDEX IF NOT EXISTS contacts_updated ON contacts (updated_at, id)")
    with sqlite3.connect(folder / "email.db") as email:
        email.execute(
            "CREATE TABLE IF NOT EXISTS members (id INTEGER PRIMARY KEY, address TEXT NOT NULL,"
            " first_name TEXT, segment TEXT, updated_at TEXT NOT NULL)"
        )
    return workspace


def _seed_crm(path: Path, rng: random.Random) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(1, CONTACTS + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        # One contact in a thousand has no email: the core refuses it (a dead letter).
        email = None if i % 1000 == 0 else f"{first}.{last}.{i}@example.com".lower()
        rows.append(
            (
                i,
                email,
                first,
                last,
                f"{last} & Co",
                rng.choice(_STAGES),
                rng.randint(0, 100),
                _stamp(start + timedelta(seconds=i * 60)),
            )
        )
    with sqlite3.connect(path) as crm:
        crm.execute(
            "CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT, first_name TEXT,"
            " last_name TEXT, company TEXT, stage TEXT, score INTEGER, updated_at TEXT NOT NULL)"
        )
        crm.execute("CREATE INDEX contacts_updated ON contacts (updated_at, id)")
        crm.executemany("INSERT INTO contacts VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def change_some_contacts(folder: Path, share: float = 0.05, *, seed: int = 11) -> int:
    """People edit records in the CRM: move a share of contacts to a new stage, now."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    ids = rng.sample(range(1, CONTACTS + 1), int(CONTACTS * share))
    now = datetime.now(UTC)
    with sqlite3.connect(folder / "crm.db") as crm:
        crm.executemany(
            "UPDATE contacts SET stage = ?, score = score + 1, updated_at = ? WHERE id = ?",
            [
                (rng.choice(_STAGES), _stamp(now + timedelta(microseconds=n)), i)
                for n, i in enumerate(ids)
            ],
        )
    return len(ids)
