"""A source whose key columns allow NULL is refused with the statement that fixes it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg
import pytest

from syncwell.connectors import postgres, sqlite
from syncwell.errors import IntegrationFatalError
from syncwell.types import StreamSpec
from tests.conftest import PG_DSN

SPEC = StreamSpec("t", ("code",), cursor="at", version="at")


async def test_postgres_nullable_key_is_refused_with_the_alter_statement(
    pg: asyncpg.Connection, pg_schema: str
) -> None:
    """A unique but nullable key column names the ALTER TABLE ... SET NOT NULL to run."""
    await pg.execute(f"CREATE TABLE {pg_schema}.t (code text UNIQUE, at timestamptz)")
    source = await postgres.open_source(
        "crm", postgres.Settings(kind="postgres", dsn=PG_DSN, schema=pg_schema)
    )
    try:
        with pytest.raises(IntegrationFatalError, match="SET NOT NULL"):
            async for _ in source.read(SPEC, None):
                pass
    finally:
        await source.aclose()


async def test_sqlite_nullable_key_is_refused_but_integer_primary_key_is_fine(
    tmp_path: Path,
) -> None:
    """SQLite: a nullable text key is refused; an INTEGER PRIMARY KEY (the rowid) is accepted."""
    with sqlite3.connect(tmp_path / "s.db") as connection:
        connection.execute("CREATE TABLE t (code TEXT UNIQUE, at TEXT)")
        connection.execute("CREATE TABLE r (id INTEGER PRIMARY KEY, at TEXT)")
    source = await sqlite.open_source(
        "s", sqlite.Settings(kind="sqlite", path=str(tmp_path / "s.db"))
    )
    try:
        with pytest.raises(IntegrationFatalError, match="NOT NULL"):
            async for _ in source.read(SPEC, None):
                pass
        rowid = StreamSpec("r", ("id",), cursor="at", version="at")
        assert [len(batch) async for batch, _ in source.read(rowid, None)] == [0]
    finally:
        await source.aclose()
