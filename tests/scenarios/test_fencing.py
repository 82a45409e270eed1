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
from tests.waiting import until_true

_SYNCWELL = Path(sys.executable).parent / "syncwell"
_KEYS = range(1, 41)
_ACK_WAIT_S = 2


def _workspace(root: Path, state: str, name: str, schema: str) -> Path:
    with sqlite3.connect(root / "core.db") as db:  # named by the flow; workers never read it
        db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, at TEXT NOT NULL, v TEXT)")
    (root / "syncwell.yaml").write_text(
        f"name: {name}\nstate: {state}\ncore: core\n"
        f"transport: {{url: 'nats://127.0.0.1:4222', partitions: 1, ack_wait_s: {_ACK_WAIT_S}}}\n"
        "systems:\n"
        "  core: {kind: sqlite, path: core.db}\n"
        f'  dest: {{kind: postgres, dsn: "{PG_DSN}", schema: {schema}}}\n'
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


@pytest.mark.timeout(90)
async def test_a_worker_paused_past_ack_wait_does_not_write_its_stale_batch(
    tmp_path: Path, pg_state_url: str, pg_schema: str, pg: asyncpg.Connection, stream_name: str
) -> None:
    """Worker A waits for a batch and is stopped (SIGSTOP); the batch reaches its socket. Past
    ack_wait the stream gives it to worker B, which writes it and then the keys' newer values.
    A is woken (SIGCONT) holding the old batch: it is refused with a log line, counted in
    the lease, and every key keeps its newest value."""
    await pg.execute(f"CREATE TABLE {pg_schema}.items (id INTEGER PRIMARY KEY, at TEXT, v TEXT)")
    workspace = _workspace(tmp_path, pg_state_url, stream_name, pg_schema)
    transport = await JetStreamTransport.connect(_settings(stream_name), {"items": ("id",)})

    async def values() -> set[str]:
        rows = await pg.fetch(f"SELECT v FROM {pg_schema}.items")
        return {row["v"] for row in rows} if len(rows) == len(_KEYS) else set()

    try:
        with _worker(workspace, tmp_path / "worker-a.log") as paused:
            await until_true(lambda: _has_pulls(stream_name), within_s=30, every_s=0.2)
            paused.send_signal(signal.SIGSTOP)
            await transport.publish("items", _batch("old"), "c-old")  # to A's waiting pull
            await asyncio.sleep(_ACK_WAIT_S + 1.5)  # A holds it past ack_wait, unknowing
            with _worker(workspace, tmp_path / "worker-b.log"):
                await until_true(lambda: _are(values, {"old"}), within_s=30, every_s=0.2)
                await transport.publish("items", _batch("new"), "c-new")
                await until_true(lambda: _are(values, {"new"}), within_s=15, every_s=0.2)
                paused.send_signal(signal.SIGCONT)
                await asyncio.sleep(3)  # A reads the old batch at once; give its write time
                assert await values() == {"new"}
    finally:
        await transport.close()
    said = (tmp_path / "worker-a.log").read_text()
    assert "refused a stale batch (stream sequence 1, delivery 1)" in said
    assert "Traceback" not in said
    store = await open_store(pg_state_url)
    try:
        async with store.engine.connect() as connection:
            fenced = await connection.scalar(select(partition_leases.c.fenced))
        assert fenced == 1
    finally:
        await store.close()


async def _has_pulls(name: str) -> bool:
    try:
        return await _waiting_pulls(name) > 0
    except nats.js.errors.NotFoundError:
        return False  # the worker has not made the consumer yet


async def _are(read: Callable[[], Awaitable[set[str]]], wanted: set[str]) -> bool:
    return await read() == wanted
