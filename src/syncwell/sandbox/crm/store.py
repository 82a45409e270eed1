"""The CRM's tables in SQLite: pages by cursor, upserts by key, deletes, subscriptions."""

from __future__ import annotations

import base64
import json
import random
import sqlite3
from dataclasses import dataclass, replace
from datetime import timedelta

from syncwell.sandbox import seed
from syncwell.sandbox.crm.kinds import COMPANIES, CONTACTS, KINDS, Kind
from syncwell.sandbox.database import mark_seeded, transaction
from syncwell.sandbox.params import BadRequestError
from syncwell.sandbox.stamps import VersionClock, format_stamp
from syncwell.sandbox.webhooks import Style, Subscription

__all__ = ["SCHEMA", "Change", "CrmStore", "Cursor"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS contacts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  email TEXT NOT NULL UNIQUE,
  first_name TEXT, last_name TEXT, phone TEXT, company_domain TEXT, lifecycle_stage TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS contacts_by_update ON contacts (updated_at, id);
CREATE TABLE IF NOT EXISTS companies (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  domain TEXT NOT NULL UNIQUE,
  name TEXT, industry TEXT, employees INTEGER,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS companies_by_update ON companies (updated_at, id);
CREATE TABLE IF NOT EXISTS subscriptions (
  id TEXT PRIMARY KEY, url TEXT NOT NULL UNIQUE, secret TEXT NOT NULL,
  options TEXT NOT NULL DEFAULT '{}'
);
"""
# How a subscription is sent (auth, header, shape, types), as JSON; added after the first files
# were written, so an older file gains the column when it is opened.
_OPTIONS_COLUMN = "ALTER TABLE subscriptions ADD COLUMN options TEXT NOT NULL DEFAULT '{}'"

_SEED_SPAN = timedelta(days=30)


@dataclass(frozen=True)
class Cursor:
    """Where a page walk stopped: the last id, and its `updated_at` when ordered by that."""

    last_id: int
    last_updated: str | None = None

    def encode(self) -> str:
        raw = json.dumps([self.last_id, self.last_updated], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, *, by_update: bool) -> Cursor:
        """Read a cursor this CRM wrote for the same kind of walk.

        Raises:
            BadRequestError: for anything else.
        """
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            last_id, last_updated = json.loads(raw)
        except (ValueError, TypeError):
            raise BadRequestError(f"invalid paging cursor {text!r}") from None
        if not isinstance(last_id, int) or (last_updated is not None) != by_update:
            raise BadRequestError(f"paging cursor {text!r} belongs to another query")
        if last_updated is not None and not isinstance(last_updated, str):
            raise BadRequestError(f"invalid paging cursor {text!r}")
        return cls(last_id, last_updated)


@dataclass(frozen=True)
class Change:
    """One upserted record and what happened to it: created, updated or unchanged."""

    what: str
    record: dict[str, object]


class CrmStore:
    """Contacts and companies of one CRM file."""

    def __init__(self, connection: sqlite3.Connection, clock: VersionClock) -> None:
        self._db = connection
        self.clock = clock
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(subscriptions)")}
        if "options" not in columns:
            with transaction(self._db):
                self._db.execute(_OPTIONS_COLUMN)
        for kind in KINDS.values():
            row = self._db.execute(f"SELECT max(updated_at) FROM {kind.table}").fetchone()
            clock.observe(row[0])

    def page(
        self, kind: Kind, *, limit: int, after: Cursor | None, since: str | None
    ) -> tuple[list[dict[str, object]], Cursor | None]:
        """Up to `limit` records after `after`, and the cursor of the next page if any.

        Without `since` the walk goes by id; with it, records with `updated_at >= since` go
        by `(updated_at, id)`.
        """
        if since is None:
            sql = f"SELECT * FROM {kind.table} WHERE id > ? ORDER BY id LIMIT ?"
            args: tuple[object, ...] = (after.last_id if after else 0, limit + 1)
        else:
            sql = (
                f"SELECT * FROM {kind.table} WHERE updated_at >= ? AND (updated_at, id) > (?, ?)"
                " ORDER BY updated_at, id LIMIT ?"
            )
            last = (after.last_updated, after.last_id) if after else ("", 0)
            args = (since, *last, limit + 1)
        rows = [dict(row) for row in self._db.execute(sql, args)]
        if len(rows) <= limit:
            return rows, None
        rows = rows[:limit]
        last_row = rows[-1]
        last_updated = str(last_row["updated_at"]) if since is not None else None
        return rows, Cursor(int(str(last_row["id"])), last_updated)

    def get(self, kind: Kind, key: str) -> dict[str, object] | None:
        row = self._db.execute(
            f"SELECT * FROM {kind.table} WHERE {kind.key} = ?", (key.strip().lower(),)
        ).fetchone()
        return dict(row) if row else None

    def upsert(self, kind: Kind, inputs: list[dict[str, object]]) -> list[Change]:
        """Write every input in one transaction; each real change gets a new `updated_at`."""
        changes: list[Change] = []
        with transaction(self._db):
            for item in inputs:
                key = str(item[kind.key])
                existing = self.get(kind, key)
                if existing is None:
                    changes.append(Change("created", self._insert(kind, item)))
                    continue
                changed = {k: v for k, v in item.items() if k != kind.key and existing[k] != v}
                if not changed:
                    changes.append(Change("unchanged", existing))
                    continue
                changed["updated_at"] = self.clock.next()
                assignments = ", ".join(f"{name} = ?" for name in changed)
                self._db.execute(
                    f"UPDATE {kind.table} SET {assignments} WHERE {kind.key} = ?",
                    (*changed.values(), key),
                )
                changes.append(Change("updated", existing | changed))
        return changes

    def _insert(self, kind: Kind, item: dict[str, object]) -> dict[str, object]:
        stamp = self.clock.next()
        values = {name: item.get(name) for name in (kind.key, *kind.properties)}
        values |= {"created_at": stamp, "updated_at": stamp}
        cursor = self._db.execute(
            f"INSERT INTO {kind.table} ({', '.join(values)})"
            f" VALUES ({', '.join('?' * len(values))})",
            tuple(values.values()),
        )
        return {"id": cursor.lastrowid, **values}

    def delete(self, kind: Kind, key: str) -> tuple[dict[str, object], str] | None:
        """Delete by key; the deleted record's id and key, and the delete's own stamp."""
        with transaction(self._db):
            existing = self.get(kind, key)
            if existing is None:
                return None
            self._db.execute(f"DELETE FROM {kind.table} WHERE id = ?", (existing["id"],))
            stamp = self.clock.next()
        return {"id": existing["id"], kind.key: existing[kind.key]}, stamp

    def count(self, kind: Kind) -> int:
        return int(self._db.execute(f"SELECT count(*) FROM {kind.table}").fetchone()[0])

    def sample_keys(self, kind: Kind, n: int, rng: random.Random) -> list[str]:
        """Up to `n` distinct keys picked at random by `rng` (so a seeded run picks alike)."""
        keys = [row[0] for row in self._db.execute(f"SELECT {kind.key} FROM {kind.table}")]
        return sorted(rng.sample(keys, min(n, len(keys))))

    def subscriptions(self) -> list[Subscription]:
        rows = self._db.execute("SELECT id, url, secret, options FROM subscriptions ORDER BY id")
        return [_subscription(row) for row in rows]

    def subscribe(self, draft: Subscription) -> Subscription:
        """Add a subscription, or give an existing one for the same URL the new settings."""
        options = {
            "auth": draft.auth,
            "header": draft.header,
            "shape": draft.style.shape,
            "types": draft.style.types,
        }
        with transaction(self._db):
            found = self._db.execute("SELECT id FROM subscriptions WHERE url = ?", (draft.url,))
            row = found.fetchone()
            sub_id = row["id"] if row else draft.id
            self._db.execute(
                "INSERT OR REPLACE INTO subscriptions (id, url, secret, options) "
                "VALUES (?, ?, ?, ?)",
                (sub_id, draft.url, draft.secret, json.dumps(options)),
            )
        return replace(draft, id=sub_id)

    def unsubscribe(self, sub_id: str) -> bool:
        with transaction(self._db):
            cursor = self._db.execute("DELETE FROM subscriptions WHERE id = ?", (sub_id,))
        return cursor.rowcount > 0

    def fill(self, seed_value: int, *, companies: int, contacts: int) -> None:
        """Seed a new file: companies, then contacts working at them, in one transaction."""
        made_companies = seed.companies(seed_value, companies)
        domains = [company.domain for company in made_companies]
        made_people = seed.people(seed_value, contacts, domains)
        rng = random.Random(f"{seed_value}:stamps")  # noqa: S311 - fake data, not secrets
        span = _SEED_SPAN // timedelta(microseconds=1)
        start = self.clock.next_micros() - span
        stamps = [start + offset for offset in rng.sample(range(span), companies + contacts)]
        rows = [vars(company) for company in made_companies] + [vars(p) for p in made_people]
        with transaction(self._db):
            for index, row in enumerate(rows):
                kind = COMPANIES if index < companies else CONTACTS
                updated = stamps[index]
                created = updated - rng.randrange(span)
                values = {
                    **row,
                    "created_at": format_stamp(created, self.clock.style),
                    "updated_at": format_stamp(updated, self.clock.style),
                }
                self._db.execute(
                    f"INSERT INTO {kind.table} ({', '.join(values)})"
                    f" VALUES ({', '.join('?' * len(values))})",
                    tuple(values.values()),
                )
            mark_seeded(self._db)


def _subscription(row: sqlite3.Row) -> Subscription:
    options = json.loads(row["options"] or "{}")
    style = Style(shape=options.get("shape", "single"), types=options.get("types", "per_object"))
    return Subscription(
        row["id"],
        row["url"],
        row["secret"],
        auth=options.get("auth", "standard"),
        header=options.get("header", "X-Webhook-Token"),
        style=style,
    )
