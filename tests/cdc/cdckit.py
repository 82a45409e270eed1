"""A CDC workspace for tests: a source table and its copy in one logical PostgreSQL, the
workspace that streams one into the other, and the comparison of the two."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from syncwell.engine import Engine
from syncwell.workspace import load_workspace

TABLE = """
CREATE TABLE {schema}.{table} (
    id bigint PRIMARY KEY,
    name text,
    amount numeric(12, 2),
    v bigint NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now()
)
"""


async def create_pair(
    connection: asyncpg.Connection, schema: str, rows: int, *, identity: str = "FULL"
) -> None:
    """`src` with `rows` rows (REPLICA IDENTITY `identity`) and an empty `dst` like it."""
    for table in ("src", "dst"):
        await connection.execute(TABLE.format(schema=schema, table=table))
    await connection.execute(f"ALTER TABLE {schema}.src REPLICA IDENTITY {identity}")
    await connection.execute(
        f"INSERT INTO {schema}.src (id, name, amount) "
        f"SELECT g, 'row ' || g, g * 1.25 FROM generate_series(1, {rows}) g"
    )


def write_workspace(
    folder: Path, dsn: str, schema: str, *, source_dsn: str | None = None, extra: str = ""
) -> Path:
    """A workspace streaming `src` into `dst` by `mode: cdc` (versioned by `v`)."""
    path = folder / "syncwell.yaml"
    path.write_text(
        f"""name: {schema}
state: sqlite:///{folder / "state.db"}
systems:
  core:
    kind: postgres
    dsn: {source_dsn or dsn}
    schema: {schema}
    connect_timeout_s: 3
  copy:
    kind: postgres
    dsn: {dsn}
    schema: {schema}
flows:
  rows:
    source: core
    destination: copy
    stream: src
    target: dst
    key: id
    version: v
    mode: cdc
    batch_size: 500
{extra}"""
    )
    return path


async def run_once(path: Path) -> Engine:
    """One `syncwell run --once` in this process."""
    engine = Engine(load_workspace(path), analyse_every_s=None)
    await engine.run(once=True)
    return engine


async def table_state(connection: asyncpg.Connection, schema: str, table: str) -> dict[int, tuple]:
    """Every row of `table` by id: (name, amount, v)."""
    rows = await connection.fetch(f"SELECT id, name, amount, v FROM {schema}.{table}")
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


async def slot_position(connection: asyncpg.Connection, schema: str) -> int | None:
    """The confirmed_flush_lsn of the test's slot, as a number (None: no slot)."""
    value = await connection.fetchval(
        "SELECT confirmed_flush_lsn - '0/0' FROM pg_replication_slots "
        "WHERE slot_name LIKE '%' || $1 || '%'",
        schema,
    )
    return None if value is None else int(value)
