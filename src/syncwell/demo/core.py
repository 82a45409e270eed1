"""The demo's core system: the product's own SQLite database, with signups and tasks.

Its contacts are the product's users; the CRM has its own leads. The two-way sync merges them by
email, so after the first sync both hold everyone. CHECK constraints stand for the product's
validation: a messy record from a tool (a date that is no date, a stage nobody defined) is
refused and lands in the dead letters instead of in the product.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from syncwell.sandbox.seed import LIFECYCLE_STAGES as STAGES

__all__ = ["BAD_EMAILS", "SIGNUPS", "create_core", "edit_some_contacts", "stamp"]

SIGNUPS = 3000
"""Users the product has before the demo's first sync."""

_FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Linus", "Radia", "Tim")
_LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Hamilton", "Perlman")
_PLANS = ("free", "starter", "team", "business")
BAD_EMAILS = ("pat.example.com", "chris@@users.ourapp.example", "sam at ourapp")
"""Signups the product let through with a mistyped address; the tools refuse them."""
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS contacts (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    first_name TEXT,
    last_name TEXT,
    phone TEXT,
    company_domain TEXT,
    lifecycle_stage TEXT CHECK (lifecycle_stage IS NULL OR lifecycle_stage IN {STAGES!r}),
    plan TEXT,
    updated_at TEXT NOT NULL CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-*')
);
CREATE INDEX IF NOT EXISTS contacts_updated ON contacts (updated_at, email);
CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    assignee_email TEXT,
    contact_email TEXT,
    due_date TEXT,
    modified_at TEXT NOT NULL
);
"""


def stamp(moment: datetime) -> str:
    """An instant as the CRM writes it, so both sides of the two-way sync order alike."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def create_core(path: Path, *, seed: int = 7) -> bool:
    """Create the core database with its signups, unless it exists; whether it was created."""
    if path.exists():
        return False
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    start = datetime.now(UTC) - timedelta(days=90)
    rows: list[tuple[object, ...]] = []
    for number in range(1, SIGNUPS + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        rows.append(
            (
                f"{first}.{last}.{number}@users.ourapp.example".lower(),
                first,
                last,
                f"+1-555-{rng.randrange(10_000):04d}",
                None,
                "customer" if rng.random() < 0.3 else "subscriber",
                rng.choice(_PLANS),
                stamp(start + timedelta(minutes=number * 40)),
            )
        )
    for number, email in enumerate(BAD_EMAILS, start=SIGNUPS + 1):
        at = stamp(start + timedelta(minutes=number * 40))
        rows.append((email, "Typo", "Person", None, None, "subscriber", "free", at))
    with sqlite3.connect(path) as core:
        core.executescript(_SCHEMA)
        core.executemany(
            "INSERT INTO contacts (email, first_name, last_name, phone, company_domain,"
            " lifecycle_stage, plan, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    return True


def edit_some_contacts(path: Path, count: int, rng: random.Random) -> int:
    """People use the product: `count` users change their name or phone, now."""
    now = datetime.now(UTC)
    with sqlite3.connect(path) as core:
        (total,) = core.execute("SELECT max(id) FROM contacts").fetchone()
        ids = rng.sample(range(1, (total or 0) + 1), min(count, total or 0))
        core.executemany(
            "UPDATE contacts SET phone = ?, updated_at = ? WHERE id = ?",
            [
                (f"+1-555-{rng.randrange(10_000):04d}", stamp(now + timedelta(microseconds=n)), i)
                for n, i in enumerate(ids)
            ],
        )
    return len(ids)
