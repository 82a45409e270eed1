"""A CDC workspace for tests: a source table and its copy in one logical PostgreSQL, the
workspace that streams one into the other, and the comparison of the two; a capture to read
by hand, and `syncwell run` as a process of its own (to kill)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import signal
import sqlite3
import sys
import time
from pathlib import Path

import asyncpg

from syncwell.connectors.postgres.cdc import ChangeCapture, capture_names
from syncwell.connectors.postgres.settings import Settings
from syncwell.engine import Engine
from syncwell.store import open_store
from syncwell.types import ChangeBatch, Checkpoint, Op
from syncwell.workspace import load_workspace
from tests.waiting import until

SYNCWELL = str(Path(sys.executable).parent / "syncwell")
"""The `syncwell` command of the interpreter running the tests."""

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


def capture_of(dsn: str, schema: str) -> ChangeCapture:
    """The capture the workspace's flow `rows` reads through, to drive by hand."""
    settings = Settings.model_validate({"kind": "postgres", "dsn": dsn, "schema": schema})
    return ChangeCapture("core", settings, capture_names(schema, "rows"))


def apply_batch(state: dict[int, tuple[object, ...]], batch: ChangeBatch) -> None:
    """Apply a batch read from `src` to `state` (a copy held in memory): (name, amount, v)."""
    for index, row in enumerate(batch.rows):
        key = int(row[0])  # type: ignore[call-overload]
        if batch.op(index) is Op.DELETE:
            state.pop(key, None)
        else:
            state[key] = row[1:4]


async def start_run(path: Path, *arguments: str) -> asyncio.subprocess.Process:
    """`syncwell run` of the workspace at `path` as a process of its own (no dashboard);
    its stderr is piped, its stdout dropped."""
    return await asyncio.create_subprocess_exec(
        SYNCWELL, "run", "-w", str(path), "--no-serve", *arguments,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


_FORKER = """
import os, signal, sys, traceback
import syncwell.cli, syncwell.engine
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped as they end
for line in sys.stdin:
    log, *arguments = line.rstrip("\\n").split("\\t")
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        written = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.dup2(written, 1), os.dup2(written, 2), os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        sys.argv, code = ["syncwell", *arguments], 1
        try:
            syncwell.cli.main()
            code = 0
        except SystemExit as ended:
            code = ended.code if isinstance(ended.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush(), sys.stderr.flush()
            os._exit(code)
    print(pid, flush=True)
"""


class ForkedRuns:
    """`syncwell` commands forked from one process that imported syncwell already: each
    starts at once, instead of after the seconds a new interpreter takes to import it on a
    busy machine, so a test can kill many runs at moments that fall in their work. Each is
    a process of its own (killed with SIGKILL, its connections end with it); its output goes
    to the log named."""

    def __init__(self) -> None:
        self._forker: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self._forker = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _FORKER,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip

    async def run(self, log: Path, *arguments: str) -> int:
        """Start `syncwell ARGUMENTS`; its process id."""
        forker = self._forker
        assert forker is not None and forker.stdin is not None and forker.stdout is not None
        forker.stdin.write("\t".join([str(log), *arguments]).encode() + b"\n")
        await forker.stdin.drain()
        return int(await asyncio.wait_for(forker.stdout.readline(), timeout=30))

    @staticmethod
    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    async def kill(self, pid: int) -> None:
        """SIGKILL `pid` and wait until it is gone."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        while self.alive(pid):  # noqa: ASYNC110 - another process's end
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        if self._forker is not None and self._forker.stdin is not None:
            self._forker.stdin.close()
            await self._forker.wait()


async def checkpoint_of(folder: Path, flow: str = "rows") -> Checkpoint | None:
    """The flow's checkpoint in the workspace's state (`folder`/state.db)."""
    store = await open_store(f"sqlite:///{folder / 'state.db'}")
    try:
        return await store.journal.checkpoint(flow)
    finally:
        await store.close()


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


async def slot_released(connection: asyncpg.Connection, schema: str) -> int | None:
    """The test slot's confirmed position once no walsender holds it (a killed run's ends a
    moment later, after the feedback it had received), 10 s at most."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        active = await connection.fetchval(
            "SELECT active FROM pg_replication_slots WHERE slot_name LIKE '%' || $1 || '%'",
            schema,
        )
        if not active:
            break
        await asyncio.sleep(0.05)
    return await slot_position(connection, schema)


class WriteLoad:
    """Inserts, updates (each a newer `v`) and deletes against `src`, in small transactions,
    until stopped; counts what it did.

    With `lsns`, it notes where the WAL stood just before each commit (`before_commits`):
    a transaction's commit ends after its own mark and before the next one's, as they run
    one after another on one connection. `unjournaled_but_confirmed` uses that.
    """

    def __init__(
        self, dsn: str, schema: str, *, first_new_id: int = 100_000, seed: int = 16,
        lsns: bool = False,
    ) -> None:  # fmt: skip
        self._dsn = dsn
        self._schema = schema
        self._next = first_new_id
        self._seed = seed
        self._lsns = lsns
        self.transactions = 0
        self.before_commits: list[int] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    async def reach(self, transactions: int, within_s: float = 60.0) -> None:
        """Wait until the load has committed `transactions`: a test that stops it after a
        fixed sleep tests less on a busy machine (297 of the 300 a test asked for, once)."""
        await until(lambda: self.transactions >= transactions, within_s=within_s)

    async def _run(self) -> None:
        rng = random.Random(self._seed)
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
        mark, changed = None, False
        async with connection.transaction():
            for _ in range(rng.randint(1, 5)):
                choice = rng.random()
                if choice < 0.3:
                    self._next += 1
                    status = await connection.execute(
                        f"INSERT INTO {table} (id, name, amount) VALUES ($1, $2, 1)",
                        self._next,
                        f"new {self._next}",
                    )
                elif choice < 0.9:
                    status = await connection.execute(
                        f"UPDATE {table} SET v = v + 1, name = $2, amount = amount + 1, "
                        "updated_at = now() WHERE id = $1",
                        rng.randint(1, self._next),
                        f"edit {rng.random():.6f}",
                    )
                else:
                    gone = rng.randint(1, self._next)
                    status = await connection.execute(f"DELETE FROM {table} WHERE id = $1", gone)
                changed = changed or not status.endswith(" 0")
            if self._lsns and changed:  # (one that changed nothing sends nothing)
                mark = await connection.fetchval("SELECT pg_current_wal_insert_lsn() - '0/0'")
        if mark is not None:  # committed: its mark counts
            self.before_commits.append(int(mark))

    def unjournaled_but_confirmed(self, journaled: int, confirmed: int) -> list[int]:
        """The marks of transactions that surely committed after `journaled` (the journal's
        position) and at or before `confirmed` (the slot's): ones the slot let go of while
        the journal does not hold them. Empty when the slot kept its promise."""
        marks = self.before_commits
        return [
            before
            for before, after in itertools.pairwise(marks)
            if before >= journaled and after <= confirmed
        ]


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
