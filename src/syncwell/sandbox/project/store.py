"""The project tool's tasks in SQLite."""

from __future__ import annotations

import random
import sqlite3

from syncwell.sandbox import seed
from syncwell.sandbox.database import mark_seeded, transaction
from syncwell.sandbox.stamps import VersionClock

__all__ = ["SCHEMA", "TaskStore"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  title TEXT NOT NULL,
  status TEXT NOT NULL,
  assignee_email TEXT,
  contact_email TEXT,
  due_date TEXT,
  modified_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_by_modified ON tasks (modified_at, id);
"""

Task = dict[str, object]
_DEFAULTS: Task = {
    "status": "todo",
    "assignee_email": None,
    "contact_email": None,
    "due_date": None,
}


class TaskStore:
    """Tasks, each with a `modified_at` that is also its version."""

    def __init__(self, connection: sqlite3.Connection, clock: VersionClock) -> None:
        self._db = connection
        self.clock = clock
        clock.observe(self._db.execute("SELECT max(modified_at) FROM tasks").fetchone()[0])

    def page(
        self, offset: int, limit: int, after: str | None, op: str = ">"
    ) -> tuple[list[Task], int]:
        """Tasks `offset`..`offset + limit` by `(modified_at, id)`, and how many in all.

        With `after`, only tasks whose `modified_at` compares to it by `op` (strictly after
        by default; one of >, >=, <, <=, =).
        """
        if op not in (">", ">=", "<", "<=", "="):
            raise ValueError(f"no comparison {op!r}")
        where, args = (f"WHERE modified_at {op} ?", (after,)) if after else ("", ())
        total = self._db.execute(f"SELECT count(*) FROM tasks {where}", args).fetchone()[0]
        rows = self._db.execute(
            f"SELECT * FROM tasks {where} ORDER BY modified_at, id LIMIT ? OFFSET ?",
            (*args, limit, offset),
        )
        return [dict(row) for row in rows], int(total)

    def get(self, task_id: int) -> Task | None:
        row = self._db.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
        return dict(row) if row else None

    def create(self, fields: Task) -> Task:
        values = _DEFAULTS | fields | {"modified_at": self.clock.next()}
        with transaction(self._db):
            cursor = self._db.execute(
                f"INSERT INTO tasks ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                tuple(values.values()),
            )
        return {"id": cursor.lastrowid, **values}

    def patch(self, task_id: int, fields: Task) -> Task | None:
        """Change some fields; a patch that changes nothing keeps the old `modified_at`."""
        with transaction(self._db):
            existing = self.get(task_id)
            if existing is None:
                return None
            changed = {name: value for name, value in fields.items() if existing[name] != value}
            if not changed:
                return existing
            changed["modified_at"] = self.clock.next()
            assignments = ", ".join(f"{name} = ?" for name in changed)
            self._db.execute(
                f"UPDATE tasks SET {assignments} WHERE id = ?", (*changed.values(), task_id)
            )
        return existing | changed

    def delete(self, task_id: int) -> bool:
        with transaction(self._db):
            cursor = self._db.execute("DELETE FROM tasks WHERE id = ?", (task_id,))
        return cursor.rowcount > 0

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM tasks").fetchone()[0])

    def sample(self, n: int, rng: random.Random) -> list[Task]:
        """Up to `n` distinct tasks picked by `rng`."""
        ids = [row[0] for row in self._db.execute("SELECT id FROM tasks ORDER BY id")]
        picked = sorted(rng.sample(ids, min(n, len(ids))))
        return [task for task_id in picked if (task := self.get(task_id)) is not None]

    def fill(self, made: list[seed.Task]) -> None:
        """Seed a new file with `made`, one version each."""
        with transaction(self._db):
            for task in made:
                values = vars(task) | {"modified_at": self.clock.next()}
                self._db.execute(
                    f"INSERT INTO tasks ({', '.join(values)})"
                    f" VALUES ({', '.join('?' * len(values))})",
                    tuple(values.values()),
                )
            mark_seeded(self._db)
