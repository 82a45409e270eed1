"""The benchmark's webhooks: a workspace that takes them, and signed requests, each id unique.

The workspace is the one the API tests use (tests/api/hookkit.py), copied so that the bench
does not depend on tests/: a ``crm`` SQLite system that sends Standard Webhooks, and a realtime
flow ``contacts`` from it into the ``core`` SQLite database, which the engine's delivery fills
while the webhooks arrive.

Requests are signed with the ``standardwebhooks`` package (not syncwell's own code), right
before they are sent: a signed timestamp older than 5 minutes is refused.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from standardwebhooks import Webhook

__all__ = ["HOOK_PATH", "SignedRequest", "durable_events", "signed_requests", "write_workspace"]

HOOK_PATH = "/hooks/crm"
_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

_WORKSPACE = """\
name: bench-webhook-intake
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
    interval: 1h
"""

_TABLE = (
    "CREATE TABLE contacts (email TEXT NOT NULL PRIMARY KEY, name TEXT, stage TEXT, "
    "company TEXT, updated_at TEXT)"
)
_STAGES = ("subscriber", "lead", "opportunity", "customer")
_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """One webhook, ready to send: its headers and its body, signed together."""

    headers: dict[str, str]
    body: bytes


def write_workspace(folder: Path) -> Path:
    """``syncwell.yaml`` in `folder`, with an empty CRM table (the reconciliation reads it)
    and the empty core table the webhooks fill. The state store goes to ``.syncwell/``."""
    for name in ("crm", "core"):
        with closing(sqlite3.connect(folder / f"{name}.db")) as db:
            db.execute(_TABLE)
    path = folder / "syncwell.yaml"
    path.write_text(_WORKSPACE.format(secret=_SECRET), encoding="utf-8")
    return path


def signed_requests(prefix: str, count: int, contacts: int) -> Iterator[SignedRequest]:
    """`count` ``contact.updated`` events with ids ``<prefix>-<n>``, signed now.

    Event n updates contact ``n % contacts`` to version n: a CRM whose contacts keep changing,
    so the core table ends with `contacts` rows and every event is newer than the last one.
    """
    signer = Webhook(_SECRET)
    now = dt.datetime.now(dt.UTC)
    stamp = str(int(now.timestamp()))
    for n in range(count):
        event_id = f"{prefix}-{n}"
        contact = n % contacts
        record = {
            "email": f"contact{contact}@customer{contact % 97}.example.com",
            "name": f"Contact {contact}",
            "stage": _STAGES[n % len(_STAGES)],
            "company": f"Customer {contact % 97}",
            "updated_at": (_EPOCH + dt.timedelta(milliseconds=n)).isoformat(),
        }
        body = json.dumps({"id": event_id, "type": "contact.updated", "data": record})
        headers = {
            "content-type": "application/json",
            "webhook-id": event_id,
            "webhook-timestamp": stamp,
            "webhook-signature": signer.sign(event_id, now, body),
        }
        yield SignedRequest(headers, body.encode())


def durable_events(folder: Path) -> int:
    """Webhook event ids in the workspace's state store: the events that were committed."""
    state = folder / ".syncwell" / "state.db"
    with closing(sqlite3.connect(state)) as db:
        (count,) = db.execute("SELECT count(*) FROM webhook_events").fetchone()
    return int(count)
