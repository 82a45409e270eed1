"""A CDC workspace for tests: a source table and its copy in one logical PostgreSQL, the
workspace that streams one into the other, and the comparison of the two."""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
import time
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


class WriteLoad:
    """Inserts, updates (each a newer `v`) and deletes against `src`, in small transactions,
    until stopped; counts what it did."""

    def __init__(self, dsn: str, schema: str, *, first_new_id: int = 100_000) -> None:
        self._dsn = dsn
        self._schema = schema
        self._next = first_new_id
        self.transactions = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        rng = random.Random(16)
        connection = await asyncpg.connect(self._dsn)
        try:
            while not self._stop.is_set():
                try:
                    await self._transaction(connection, rng)
                except (
                    OSError,
                    asyncpg.PostgresError,
                    asyncpg.InterfaceError,
                    asyncpg.InternalClientError,
                ):
                    # The server restarted or the network dropped: carry on when it is back.
                    await asyncio.sleep(0.2)
                    with contextlib.suppress(Exception):
                        await connection.close()
                    with contextlib.suppress(OSError, asyncpg.PostgresError):
                        connection = await asyncpg.connect(self._dsn)
                    continue
                self.transactions += 1
                await asyncio.sleep(0.002)
        finally:
            await connection.close()

    async def _transaction(self, connection: asyncpg.Connection, rng: random.Random) -> None:
        """One to five changes in one transaction: 30% inserts, 60% updates, 10% deletes."""
        table = f"{self._schema}.src"
        async with connection.transaction():
            for _ in range(rng.randint(1, 5)):
                choice = rng.random()
                if choice < 0.3:
                    self._next += 1
                    await connection.execute(
                        f"INSERT INTO {table} (id, name, amount) VALUES ($1, $2, 1)",
                        self._next,
                        f"new {self._next}",
                    )
                elif choice < 0.9:
                    await connection.execute(
                        f"UPDATE {table} SET v = v + 1, name = $2, amount = amount + 1, "
                        "updated_at = now() WHERE id = $1",
                        rng.randint(1, self._next),
                        f"edit {rng.random():.6f}",
                    )
                else:
                    gone = rng.randint(1, self._next)
                    await connection.execute(f"DELETE FROM {table} WHERE id = $1", gone)


async def converged(
    connection: asyncpg.Connection, schema: str, timeout_s: float = 30.0
) -> tuple[dict[int, tuple], dict[int, tuple]]:
    """`src` and `dst` once they are equal, or as they stand after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        source = await table_state(connection, schema, "src")
        copy = await table_state(connection, schema, "dst")
        if source == copy or time.monotonic() > deadline:
            return source, copy
        await asyncio.sleep(0.2)


def differences(source: dict[int, tuple], copy: dict[int, tuple]) -> dict[str, object]:
    """What differs: keys lost, keys that should be gone, and rows older than the source's."""
    return {
        "missing": sorted(set(source) - set(copy))[:10],
        "not_deleted": sorted(set(copy) - set(source))[:10],
        "older": sorted(k for k in source.keys() & copy.keys() if copy[k][2] < source[k][2])[:10],
        "different": sorted(k for k in source.keys() & copy.keys() if copy[k] != source[k])[:10],
    }


def _journaled(state: Path) -> tuple[str, ...] | None:
    """The flow's checkpoint in a run's SQLite state (another process's), if any."""
    if not state.exists():
        return None
    with sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=5) as db:
        try:
            return db.execute("SELECT value FROM checkpoints").fetchone()
        except sqlite3.OperationalError:  # not migrated yet
            return None


async def first_page_journaled(state: Path) -> str:
    """Wait until a run has journaled its first page; its checkpoint (JSON text)."""
    while (found := _journaled(state)) is None:  # noqa: ASYNC110 - another process writes it
        await asyncio.sleep(0.005)
    return str(found[0])
