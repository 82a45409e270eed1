"""One SQLite file per tool: opening it, its schema, and small transactions.

Statements run inline on the event loop. That is a deliberate shortcut for a sandbox: every
transaction touches at most a few hundred rows of a local file in WAL mode, which takes
milliseconds, and one thread keeps the connection free of locking questions.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["mark_seeded", "open_database", "transaction"]

_META = "CREATE TABLE IF NOT EXISTS sandbox_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


def open_database(data_dir: Path | None, name: str, schema: str) -> tuple[sqlite3.Connection, bool]:
    """Open (or create) `<data_dir>/<name>.db`, or a memory database, with `schema` applied.

    Returns:
        The connection and whether it still needs its seed data. A file counts as seeded only
        once `mark_seeded` committed, so a seed cut short by a crash is redone, not half-kept.
    """
    if data_dir is None:
        target = ":memory:"
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
        target = str(data_dir / f"{name}.db")
    connection = sqlite3.connect(target, isolation_level=None)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.executescript(_META + ";\n" + schema)
    seeded = connection.execute("SELECT 1 FROM sandbox_meta WHERE key = 'seeded'").fetchone()
    return connection, seeded is None


def mark_seeded(connection: sqlite3.Connection) -> None:
    """Record, inside the seeding transaction, that the seed data is in."""
    connection.execute("INSERT OR REPLACE INTO sandbox_meta (key, value) VALUES ('seeded', '1')")


@contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the block as one write transaction: all of it commits, or none of it."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
