"""A worker paused past ack_wait_s (SIGSTOP) must not write its stale batch over newer data,
against the machine's NATS and PostgreSQL: two `syncwell worker` processes, a flow with no
version into a PostgreSQL table, and the partition's lease fencing the paused one.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import nats
import pytest
from sqlalchemy import select

from syncwell.store import open_store
from syncwell.store.leases import partition_leases
from syncwell.transport import JetStreamSettings, JetStreamTransport
from syncwell.types import ChangeBatch
from tests.conftest import PG_DSN
from tests.waiting import until, until_true

_SYNCWELL = Path(sys.executable).parent / "syncwell"
_KEYS = range(1, 41)
_ACK_WAIT_S = 2


def _workspace(root: Path, state: str, name: str, schema: str, dest: str = "") -> Path:
    with sqlite3.connect(root / "core.db") as db:  # named by the flow; workers never read it
        db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, at TEXT NOT NULL, v TEXT)")
    (root / "syncwell.yaml").write_text(
        f"name: {name}\nstate: {state}\ncore: core\n"
        f"transport: {{url: 'nats://127.0.0.1:4222', partitions: 1, ack_wait_s: {_ACK_WAIT_S}}}\n"
        "systems:\n"
        "  core: {kind: sqlite, path: core.db}\n"
        f'  dest: {{kind: postgres, dsn: "{PG_DSN}", schema: {schema}{dest}}}\n'
        "flows:\n"
        # No version: nothing but the order of writes keeps a key from going back.
        "  items: {source: core, destination: dest, stream: items, key: id, cursor: at,"
        " lookback: 0s, interval: 1s}\n"
    )
    return root / "syncwell.yaml"


@contextlib.contextmanager
def _worker(workspace: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("w") as output:
        args = [str(_SYNCWELL), "worker", "-w", str(workspace)]
        process = subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.send_signal(signal.SIGCONT)  # a stopped process cannot stop cleanly
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
async def stream_name() -> AsyncIterator[str]:
    """A workspace name (its stream's) of its own; the stream is deleted after."""
    name = f"fence-{uuid.uuid4().hex[:10]}"
    yield name
    transport = await JetStreamTransport.connect(_settings(name), {})
    await transport.delete_stream()
    await transport.close()


def _settings(name: str) -> JetStreamSettings:
    return JetStreamSettings(workspace=name, partitions=1, ack_wait_s=_ACK_WAIT_S)


async def _waiting_pulls(name: str) -> int:
    """Pull requests the partition's consumer holds: a worker waiting for the next batch."""
    client = await nats.connect("nats://127.0.0.1:4222")
    try:
        info = await client.jetstream().consumer_info(f"SYNCWELL_{name}", "items-0")
        return info.num_waiting or 0
    finally:
        await client.close()


def _batch(value: str) -> ChangeBatch:
    return ChangeBatch(("id", "at", "v"), [(key, "2026-01-01", value) for key in _KEYS])


class _Takeover:
    """Worker A stopped while it holds the first batch; worker B then writes that batch and
    the keys' newer values; A is woken. What differs per test is how A comes to hold it."""

    def __init__(
        self, root: Path, state: str, name: str, schema: str, pg: asyncpg.Connection
    ) -> None:
        self.root, self.state, self.name, self.schema, self.pg = root, state, name, schema, pg

    async def values(self) -> set[str]:
        """The destination's values, once every key is there."""
        rows = await self.pg.fetch(f"SELECT v FROM {self.schema}.items")
        return {row["v"] for row in rows} if len(rows) == len(_KEYS) else set()

    async def run(self, workspace: Path, hold: Callable[[A], Awaitable[None]]) -> str:
        """Run it; return A's log. `hold(a)` publishes the first batch and stops A holding it."""
        transport = await JetStreamTransport.connect(_settings(self.name), {"items": ("id",)})
        try:
            with _worker(workspace, self.root / "worker-a.log") as paused:
                await until_true(lambda: _has_pulls(self.name), within_s=30, every_s=0.2)
                await hold(A(paused, transport, self.root / "worker-a.log"))
                await asyncio.sleep(_ACK_WAIT_S + 1.5)  # A holds it past ack_wait, unknowing
                with _worker(workspace, self.root / "worker-b.log"):
                    await until_true(lambda: self._are({"old"}), within_s=30, every_s=0.2)
                    await transport.publish("items", _batch("new"), "c-new")
                    await until_true(lambda: self._are({"new"}), within_s=15, every_s=0.2)
                    paused.send_signal(signal.SIGCONT)
                    await asyncio.sleep(3)  # what A does on waking, it does at once
                    assert await self.values() == {"new"}
        finally:
            await transport.close()
        said = (self.root / "worker-a.log").read_text()
        assert "Traceback" not in said
        store = await open_store(self.state)
        try:
            async with store.engine.connect() as connection:
                assert await connection.scalar(select(partition_leases.c.fenced)) == 1
        finally:
            await store.close()
        return said

    async def _are(self, wanted: set[str]) -> bool:
        return await self.values() == wanted


class A:
    """Worker A as a test step sees it."""

    def __init__(
        self, process: subprocess.Popen[bytes], transport: JetStreamTransport, log: Path
    ) -> None:
        self.process, self.transport, self.log = process, transport, log


@pytest.mark.timeout(60)
async def test_a_worker_paused_with_a_batch_in_its_socket_does_not_write_it(
    tmp_path: Path, pg_state_url: str, pg_schema: str, pg: asyncpg.Connection, stream_name: str
) -> None:
    """A waits for a batch and is stopped (SIGSTOP); the batch reaches its socket. Past
    ack_wait the stream gives it to B, which writes it and then the keys' newer values. A,
    woken (SIGCONT), reads the old batch: its lease is refused with a log line and counted,
    and every key keeps its newest value."""
    await pg.execute(f"CREATE TABLE {pg_schema}.items (id INTEGER PRIMARY KEY, at TEXT, v TEXT)")
    workspace = _workspace(tmp_path, pg_state_url, stream_name, pg_schema)

    async def stopped_then_sent(a: A) -> None:
        a.process.send_signal(signal.SIGSTOP)
        await a.transport.publish("items", _batch("old"), "c-old")  # to A's waiting pull

    takeover = _Takeover(tmp_path, pg_state_url, stream_name, pg_schema, pg)
    said = await takeover.run(workspace, stopped_then_sent)
    assert "refused a stale batch (stream sequence 1, delivery 1)" in said
    assert "another worker took the partition for this message or a later one" in said


@pytest.mark.timeout(60)
async def test_a_worker_paused_while_it_retries_a_batch_does_not_write_it(
    tmp_path: Path, pg_state_url: str, pg_schema: str, pg: asyncpg.Connection, stream_name: str
) -> None:
    """A takes the batch and retries it (the destination refuses for now); it is stopped
    between tries, and the destination recovers. Past ack_wait B writes the batch and newer
    values; A, woken, checks before its next try: refused, and the keys keep their newest."""
    await pg.execute(
        f"CREATE TABLE {pg_schema}.items (id INTEGER PRIMARY KEY, at TEXT, v TEXT);"
        f"CREATE TABLE {pg_schema}.gate (open boolean NOT NULL); "
        f"INSERT INTO {pg_schema}.gate VALUES (false);"
        f"CREATE FUNCTION {pg_schema}.held() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF NOT (SELECT open FROM {pg_schema}.gate) THEN RAISE EXCEPTION 'held by the test' "
        "USING ERRCODE = '40001'; END IF; RETURN NEW; END $$;"
        f"CREATE TRIGGER held BEFORE INSERT OR UPDATE ON {pg_schema}.items "
        f"FOR EACH ROW EXECUTE FUNCTION {pg_schema}.held();"
    )
    retry = ", retry: {base_s: 0.2, cap_s: 0.5, max_attempts: 1000}"
    workspace = _workspace(tmp_path, pg_state_url, stream_name, pg_schema, retry)

    async def retrying_then_stopped(a: A) -> None:
        await a.transport.publish("items", _batch("old"), "c-old")
        await until(lambda: "write failed" in a.log.read_text(), within_s=15, every_s=0.1)
        a.process.send_signal(signal.SIGSTOP)
        await pg.execute(f"UPDATE {pg_schema}.gate SET open = true")

    takeover = _Takeover(tmp_path, pg_state_url, stream_name, pg_schema, pg)
    said = await takeover.run(workspace, retrying_then_stopped)
    assert "refused a stale batch (stream sequence 1, delivery 1)" in said


async def _has_pulls(name: str) -> bool:
    try:
        return await _waiting_pulls(name) > 0
    except nats.js.errors.NotFoundError:
        return False  # the worker has not made the consumer yet
