"""A distributed run against the machine's PostgreSQL and NATS: `syncwell run` reads and
relays, two `syncwell worker` processes deliver, one is killed with SIGKILL mid-way, and
still every change arrives, each key at its newest version, a refused row dead-lettered once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from syncwell import load_workspace
from syncwell.engine.relay import change_id, relay_once
from syncwell.store import open_store
from syncwell.transport import JetStreamSettings, JetStreamTransport
from syncwell.types import ChangeBatch
from tests.scenarios.crmkit import free_port
from tests.waiting import until, until_true

_SYNCWELL = Path(sys.executable).parent / "syncwell"
_ROWS = 600
_SEQ_KEYS = [(key,) for key in range(12)]
_SEQ_ROUNDS = 8


def _write(root: Path, state: str, name: str) -> Path:
    with sqlite3.connect(root / "core.db") as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL, v TEXT)")
        db.executemany(
            "INSERT INTO t VALUES (?, ?, ?)",
            [(i, f"2026-01-01 00:{i // 60:02d}:{i % 60:02d}", "bad" if i == 3 else f"v{i}")
             for i in range(_ROWS)],
        )  # fmt: skip
        db.execute("CREATE TABLE seq (id INTEGER PRIMARY KEY, at TEXT NOT NULL, n INTEGER)")
        db.executemany("INSERT INTO seq VALUES (?, '2026-01-01 00:00:00', 0)", _SEQ_KEYS)
    with sqlite3.connect(root / "dest.db") as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT, v TEXT CHECK (v != 'bad'))")
        # The `seq` flow has no version to guard it: only per-key order keeps n from going
        # back, and a write that would is refused (then a dead letter the test would see).
        db.executescript(
            "CREATE TABLE seq (id INTEGER PRIMARY KEY, at TEXT, n INTEGER);"
            "CREATE TRIGGER in_order BEFORE UPDATE ON seq WHEN NEW.n < OLD.n"
            " BEGIN SELECT RAISE(ABORT, 'out of order'); END;"
        )
    (root / "syncwell.yaml").write_text(
        f"name: {name}\nstate: {state}\ncore: core\n"
        "transport: {url: 'nats://127.0.0.1:4222', partitions: 4, ack_wait_s: 2}\n"
        "systems:\n"
        "  core: {kind: sqlite, path: core.db}\n"
        "  dest: {kind: sqlite, path: dest.db, rate_limit: {per_second: 10}}\n"
        "flows:\n"
        "  rows: {source: core, destination: dest, stream: t, key: id, cursor: at,"
        " version: at, lookback: 0s, interval: 1s, batch_size: 30}\n"
        "  seq: {source: core, destination: dest, stream: seq, key: id, cursor: at,"
        " lookback: 0s, interval: 1s}\n"
    )
    return root / "syncwell.yaml"


@contextlib.contextmanager
def _started(args: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("w") as output:
        process = subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


async def _ready(port: int) -> bool:
    async with httpx.AsyncClient() as client:
        try:
            return (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False


def _destination(root: Path) -> dict[int, tuple[str, str]]:
    with sqlite3.connect(root / "dest.db") as db:
        return {row[0]: (row[1], row[2]) for row in db.execute("SELECT id, at, v FROM t")}


@pytest.mark.timeout(240)
async def test_workers_share_the_flow_and_a_killed_one_loses_nothing(
    tmp_path: Path, pg_state_url: str
) -> None:
    """Two workers deliver while the reader relays; one dies by SIGKILL holding work. Every
    good row arrives, the 50 rows changed meanwhile at their newest version, a flow without a
    version sees each key's 8 changes in order (a trigger refuses any step back), and the
    refused row is the one dead letter."""
    name = f"dist-{uuid.uuid4().hex[:10]}"
    workspace = _write(tmp_path, pg_state_url, name)
    run = [str(_SYNCWELL), "run", "-w", str(workspace), "--no-serve"]
    work = [str(_SYNCWELL), "worker", "-w", str(workspace)]
    try:
        with _started(run, tmp_path / "run.log"):
            # The reader alone first: each round of `seq` is read by its own poll and waits in
            # the stream as its own message, so the workers then find 8 queued per partition.
            for round_ in range(1, _SEQ_ROUNDS + 1):
                await asyncio.sleep(1.2)
                with sqlite3.connect(tmp_path / "core.db") as db:
                    db.execute("UPDATE seq SET n = ?, at = ?", (round_, f"2026-03-01 {round_:02d}"))
            await asyncio.sleep(1.5)
            port = free_port()
            with (
                _started(work, tmp_path / "worker-a.log") as doomed,
                _started([*work, "--port", str(port)], tmp_path / "worker-b.log"),
            ):
                await until(lambda: len(_destination(tmp_path)) >= 100, within_s=60)
                await until_true(lambda: _ready(port), within_s=10)  # a worker can be watched
                doomed.send_signal(signal.SIGKILL)
                doomed.wait()
                with sqlite3.connect(tmp_path / "core.db") as db:
                    db.executemany(
                        "UPDATE t SET v = ?, at = ? WHERE id = ?",
                        [(f"w{i}", f"2026-02-01 00:00:{i % 60:02d}", i) for i in range(500, 550)],
                    )
                expected = {
                    i: f"w{i}" if 500 <= i < 550 else f"v{i}" for i in range(_ROWS) if i != 3
                }

                def arrived() -> bool:
                    with sqlite3.connect(tmp_path / "dest.db") as db:
                        counts = set(db.execute("SELECT n FROM seq"))
                    rows = {k: v for k, (_, v) in _destination(tmp_path).items()}
                    return rows == expected and counts == {(_SEQ_ROUNDS,)}

                await until(arrived, within_s=120)
    finally:
        await _delete_stream(name)
    store = await open_store(pg_state_url)
    try:
        (letter,) = await store.dead_letters.list()
        assert letter.key == "3" and "CHECK" in letter.reason
    finally:
        await store.close()
    for log in ("run.log", "worker-b.log"):
        assert "Traceback" not in (tmp_path / log).read_text()


async def test_a_relay_that_crashed_after_publishing_publishes_nothing_twice(
    tmp_path: Path, pg_state_url: str
) -> None:
    """The relay published an entry and died before forgetting it: the next relay publishes
    it again, the stream keeps one copy, and the journal is left empty."""
    workspace = load_workspace(_write(tmp_path, pg_state_url, f"relay-{uuid.uuid4().hex[:10]}"))
    store = await open_store(workspace.state)
    settings = JetStreamSettings(workspace=workspace.name, partitions=1)
    transport = await JetStreamTransport.connect(settings, {"rows": ("id",)})
    try:
        batch = ChangeBatch(("id", "at", "v"), [(1, "a", "x"), (2, "b", "y")])
        await store.journal.append("rows", batch, None)
        (entry,) = await store.journal.pending("rows", max_changes=100)
        rows = workspace.flows["rows"]
        ids = change_id([entry], most=rows.batch_size)
        await transport.publish("rows", entry.batch, ids, most=rows.batch_size)  # the crash
        assert await relay_once(workspace.flows["rows"], store.journal, transport) == 2
        assert await store.journal.pending("rows", max_changes=100) == []
        assert await transport.pending("rows", 0) == 1
    finally:
        await transport.delete_stream()
        await transport.close()
        await store.close()


async def _delete_stream(name: str) -> None:
    transport = await JetStreamTransport.connect(
        JetStreamSettings(workspace=name, partitions=4), {}
    )
    try:
        await transport.delete_stream()
    finally:
        await transport.close()
