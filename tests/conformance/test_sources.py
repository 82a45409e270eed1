"""The conformance kit over the database connectors as sources: a SQLite file and a PostgreSQL
schema, read by cursor with a key scan for hard deletes, and without a cursor at all."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from syncwell import load_workspace
from syncwell.testing import ConformanceOptions, assert_conformant, check_source
from tests.conftest import PG_DSN

ROWS = 40

FLOW = """
flows:
  contacts:
    source: app
    destination: core
    stream: contacts
    key: id
    fields: [id, name, updated_at]
    batch_size: 15
"""
BY_CURSOR = "    cursor: updated_at\n    deletes: {detect: scan, every: 0s}\n"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class SqliteApp:
    """The app's own SQLite table, changed with SQL (hard deletes: no tombstones)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with sqlite3.connect(path) as db:
            db.execute(
                "CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT,"
                " updated_at TEXT NOT NULL)"
            )
            db.executemany(
                "INSERT INTO contacts (name, updated_at) VALUES (?, ?)",
                [(f"Row {i}", _now()) for i in range(ROWS)],
            )

    async def insert(self) -> str:
        with sqlite3.connect(self.path) as db:
            cursor = db.execute(
                "INSERT INTO contacts (name, updated_at) VALUES ('New', ?)", (_now(),)
            )
            return str(cursor.lastrowid)

    async def edit(self, key: str) -> None:
        with sqlite3.connect(self.path) as db:
            db.execute(
                "UPDATE contacts SET name = name || '!', updated_at = ? WHERE id = ?",
                (_now(), int(key)),
            )

    async def delete(self, key: str) -> None:
        with sqlite3.connect(self.path) as db:
            db.execute("DELETE FROM contacts WHERE id = ?", (int(key),))


class PostgresApp:
    """The app's own PostgreSQL table, changed with SQL (hard deletes: no tombstones)."""

    def __init__(self, schema: str) -> None:
        self.table = f"{schema}.contacts"

    async def create(self) -> None:
        await self._run(
            f"CREATE TABLE {self.table} (id serial PRIMARY KEY, name text,"
            " updated_at timestamptz NOT NULL DEFAULT clock_timestamp())"
        )
        await self._run(
            f"INSERT INTO {self.table} (name) SELECT 'Row ' || i FROM generate_series(1, {ROWS}) i"
        )

    async def insert(self) -> str:
        return str(await self._run(f"INSERT INTO {self.table} (name) VALUES ('New') RETURNING id"))

    async def edit(self, key: str) -> None:
        await self._run(
            f"UPDATE {self.table} SET name = name || '!', updated_at = clock_timestamp()"
            f" WHERE id = {int(key)}"
        )

    async def delete(self, key: str) -> None:
        await self._run(f"DELETE FROM {self.table} WHERE id = {int(key)}")

    async def _run(self, sql: str) -> object:
        connection = await asyncpg.connect(PG_DSN)
        try:
            return await connection.fetchval(sql)
        finally:
            await connection.close()


def _workspace(root: Path, app: str, read: str) -> Path:
    with sqlite3.connect(root / "core.db") as db:
        db.execute("CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT, updated_at TEXT)")
    text = f"name: kit\ncore: core\nsystems:\n  core: {{kind: sqlite, path: core.db}}\n{app}"
    path = root / "syncwell.yaml"
    path.write_text(text + FLOW + read)
    return path


@pytest.mark.parametrize("read", [BY_CURSOR, ""], ids=["cursor+scan", "cursorless"])
async def test_a_sqlite_source_conforms(tmp_path: Path, read: str) -> None:
    """A SQLite table passes every check, by cursor with a key scan and without a cursor."""
    app = SqliteApp(tmp_path / "app.db")
    path = _workspace(tmp_path, "  app: {kind: sqlite, path: app.db}\n", read)
    options = ConformanceOptions(pause_s=0.01)
    report = await check_source(load_workspace(path), "contacts", app, options)
    print(report)
    assert_conformant(report)
    assert f"{ROWS} records in the destination, {ROWS} in a second full read" in str(report)


@pytest.mark.parametrize("read", [BY_CURSOR, ""], ids=["cursor+scan", "cursorless"])
async def test_a_postgres_source_conforms(tmp_path: Path, pg_schema: str, read: str) -> None:
    """A PostgreSQL table passes every check, by cursor with a key scan and without a
    cursor."""
    app = PostgresApp(pg_schema)
    await app.create()
    system = f'  app: {{kind: postgres, dsn: "{PG_DSN}", schema: {pg_schema}}}\n'
    path = _workspace(tmp_path, system, read)
    options = ConformanceOptions(pause_s=0.01)
    report = await check_source(load_workspace(path), "contacts", app, options)
    print(report)
    assert_conformant(report)
