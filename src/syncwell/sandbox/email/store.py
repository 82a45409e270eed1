"""The audience in SQLite, eventually consistent.

Writes land in `pending` with the time they become visible; reads first move the writes whose
time has come into `members`, in the order they were made, then read `members`. So a write is
invisible for `visibility_delay_s`, and an update shows the old version until then (the way a
read replica lags its primary).
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Callable

from syncwell.sandbox import seed
from syncwell.sandbox.database import mark_seeded, transaction
from syncwell.sandbox.stamps import VersionClock

__all__ = ["SCHEMA", "EmailStore"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS members (
  email TEXT PRIMARY KEY,
  first_name TEXT, last_name TEXT, status TEXT NOT NULL, tags TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS members_by_update ON members (updated_at, email);
CREATE TABLE IF NOT EXISTS pending (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  email TEXT NOT NULL,
  record TEXT,
  visible_at REAL NOT NULL
);
"""

Member = dict[str, object]


_NEW_MEMBER: Member = {"first_name": None, "last_name": None, "status": "subscribed", "tags": []}


def _resubscribes_cleaned(current: Member | None, change: Member) -> bool:
    """Whether `change` moves a cleaned (bounced) member to another status: refused."""
    cleaned = current is not None and current["status"] == "cleaned"
    return cleaned and change.get("status") not in (None, "cleaned")


def _member(row: sqlite3.Row) -> Member:
    member = dict(row)
    member["tags"] = json.loads(str(member["tags"]))
    return member


class EmailStore:
    """The members of the platform's one audience.

    Args:
        delay_s: how long a write stays invisible.
        now: wall-clock seconds (the pending times are kept on disk across restarts).
    """

    def __init__(
        self,
        connection: sqlite3.Connection,
        clock: VersionClock,
        delay_s: float,
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._db = connection
        self._clock = clock
        self._delay_s = delay_s
        self._now = now
        for table in ("members", "pending"):
            column = "updated_at" if table == "members" else "json_extract(record, '$.updated_at')"
            clock.observe(self._db.execute(f"SELECT max({column}) FROM {table}").fetchone()[0])

    def latest(self, email: str) -> Member | None:
        """The newest version of a member, visible yet or not (what a write builds on)."""
        row = self._db.execute(
            "SELECT record FROM pending WHERE email = ? ORDER BY seq DESC LIMIT 1", (email,)
        ).fetchone()
        if row is not None:
            return json.loads(row["record"]) if row["record"] is not None else None
        visible = self._db.execute("SELECT * FROM members WHERE email = ?", (email,)).fetchone()
        return _member(visible) if visible else None

    def write(self, members: list[tuple[int, Member]]) -> tuple[int, list[dict[str, object]]]:
        """Upsert `(index, member)` pairs; how many were written, and the refused ones."""
        written, errors = 0, []
        visible_at = self._now() + self._delay_s
        with transaction(self._db):
            for index, member in members:
                email = str(member["email"])
                current = self.latest(email)
                if _resubscribes_cleaned(current, member):
                    message = "member was cleaned (address bounced); it cannot be resubscribed"
                    errors.append({"index": index, "email": email, "message": message})
                    continue
                written += 1
                merged = _NEW_MEMBER | (current or {}) | member
                if current is not None and all(current[k] == merged[k] for k in member):
                    continue  # nothing changed: no new version, as the real platform does
                merged["updated_at"] = self._clock.next()
                self._pend(email, merged, visible_at)
        return written, errors

    def delete(self, email: str) -> bool:
        """Delete a member (visible after the delay); False if there is none."""
        with transaction(self._db):
            if self.latest(email) is None:
                return False
            self._pend(email, None, self._now() + self._delay_s)
        return True

    def _pend(self, email: str, record: Member | None, visible_at: float) -> None:
        text = None if record is None else json.dumps(record)
        self._db.execute(
            "INSERT INTO pending (email, record, visible_at) VALUES (?, ?, ?)",
            (email, text, visible_at),
        )

    def settle(self) -> None:
        """Make the writes whose time has come visible, oldest first."""
        now = self._now()
        due = self._db.execute(
            "SELECT seq, email, record FROM pending WHERE visible_at <= ? ORDER BY seq", (now,)
        ).fetchall()
        if not due:
            return
        with transaction(self._db):
            for row in due:
                if row["record"] is None:
                    self._db.execute("DELETE FROM members WHERE email = ?", (row["email"],))
                    continue
                record = json.loads(row["record"])
                self._db.execute(
                    "INSERT OR REPLACE INTO members"
                    " (email, first_name, last_name, status, tags, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        record["email"],
                        record["first_name"],
                        record["last_name"],
                        record["status"],
                        json.dumps(record["tags"]),
                        record["updated_at"],
                    ),
                )
            self._db.execute("DELETE FROM pending WHERE seq <= ?", (due[-1]["seq"],))

    def page(self, offset: int, count: int, since: str | None) -> tuple[list[Member], int]:
        """Visible members `offset`..`offset + count` and how many there are in all.

        By email; with `since`, only those changed at or after it, by `(updated_at, email)`.
        """
        self.settle()
        where, order, args = "", "email", tuple[str, ...]()
        if since is not None:
            where, order, args = "WHERE updated_at >= ?", "updated_at, email", (since,)
        total = self._db.execute(f"SELECT count(*) FROM members {where}", args).fetchone()[0]
        rows = self._db.execute(
            f"SELECT * FROM members {where} ORDER BY {order} LIMIT ? OFFSET ?",
            (*args, count, offset),
        )
        return [_member(row) for row in rows], int(total)

    def get(self, email: str) -> Member | None:
        """One visible member."""
        self.settle()
        row = self._db.execute("SELECT * FROM members WHERE email = ?", (email,)).fetchone()
        return _member(row) if row else None

    def count(self) -> int:
        """Visible members."""
        self.settle()
        return int(self._db.execute("SELECT count(*) FROM members").fetchone()[0])

    def sample_subscribed(self, n: int, rng: random.Random) -> list[str]:
        """Up to `n` visible subscribed members' emails, picked by `rng`."""
        self.settle()
        rows = self._db.execute("SELECT email FROM members WHERE status = 'subscribed'")
        emails = sorted(row[0] for row in rows)
        return sorted(rng.sample(emails, min(n, len(emails))))

    def fill(self, seed_value: int, *, members: int, companies: int) -> None:
        """Seed a new file with `members` subscribed people, visible at once."""
        domains = [company.domain for company in seed.companies(seed_value, companies)]
        with transaction(self._db):
            for person in seed.people(seed_value, members, domains):
                self._db.execute(
                    "INSERT INTO members (email, first_name, last_name, status, tags, updated_at)"
                    " VALUES (?, ?, ?, 'subscribed', '[\"seed\"]', ?)",
                    (person.email, person.first_name, person.last_name, self._clock.next()),
                )
            mark_seeded(self._db)
