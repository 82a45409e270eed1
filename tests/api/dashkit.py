"""A workspace for the dashboard's tests: a constraint and a dead letter, known in advance."""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["fix_the_warehouse", "write_workspace"]


def write_workspace(root: Path, *, interval: str = "1m") -> Path:
    """A core database with two integrations: a warehouse that refuses one row (a CHECK),
    and a tool polled every 4 hours against a 30-minute SLO, the constraint."""
    with sqlite3.connect(root / "core.db") as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL, v TEXT)")
        db.executemany(
            "INSERT INTO t VALUES (?, ?, ?)",
            [(i, f"2026-01-01 00:00:{i:02d}", "bad" if i == 3 else "ok") for i in range(10)],
        )
    with sqlite3.connect(root / "warehouse.db") as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT, v TEXT CHECK (v != 'bad'))")
    with sqlite3.connect(root / "tool.db") as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT, v TEXT)")
    (root / "syncwell.yaml").write_text(
        "name: shop\ncore: core\nsystems:\n"
        "  core: {kind: sqlite, path: core.db}\n"
        "  warehouse: {kind: sqlite, path: warehouse.db}\n"
        "  tool: {kind: sqlite, path: tool.db}\n"
        "flows:\n"
        "  rows: {source: core, destination: warehouse, stream: t, key: id, cursor: at,"
        f" lookback: 0s, interval: {interval}, slo: {{freshness: 5m}}}}\n"
        "  tasks: {source: core, destination: tool, stream: t, key: id, cursor: at,"
        " lookback: 0s, interval: 4h, slo: {freshness: 30m}}\n"
    )
    return root / "syncwell.yaml"


def fix_the_warehouse(root: Path) -> None:
    """The warehouse's team drops the CHECK that refused the bad row (SQLite rebuilds the
    table to drop one): a replay of that row now goes in."""
    with sqlite3.connect(root / "warehouse.db") as db:
        db.executescript(
            "BEGIN; ALTER TABLE t RENAME TO old;"
            " CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT, v TEXT);"
            " INSERT INTO t SELECT * FROM old; DROP TABLE old; COMMIT;"
        )
