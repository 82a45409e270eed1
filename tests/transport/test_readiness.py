"""/readyz of a distributed run through outages: a worker (`syncwell worker --port`) and a
reader (`syncwell run`) answer 503 with the reason while their NATS server is down or their
state store cannot be reached, and 200 again once it is back.

The outages are the test's own: a nats-server it starts on a free port (the machine's shared
one serves other tests), and a TCP proxy in front of the machine's PostgreSQL it can cut."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

import httpx
import pytest

from syncwell.cli.dev import nats_server
from tests.conftest import PG_DSN
from tests.scenarios.crmkit import free_port
from tests.waiting import until, until_true

_SYNCWELL = Path(sys.executable).parent / "syncwell"


class _NatsServer:
    """A nats-server of the test's own, with JetStream on disk, to stop and start again."""

    def __init__(self, folder: Path) -> None:
        binary = nats_server()
        if binary is None:
            pytest.skip("no nats-server binary here")
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self._args = [str(binary), "-a", "127.0.0.1", "-p", str(self.port), "-js"]
        self._args += ["-sd", str(folder)]
        self._process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self._spawn()
        await until_true(self._listening, within_s=10, every_s=0.1)

    def _spawn(self) -> None:
        self._process = subprocess.Popen(self._args, stderr=subprocess.DEVNULL)

    async def _listening(self) -> bool:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            return False
        writer.close()
        return True

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()  # an outage, not a goodbye
            self._process.wait()


class _Proxy:
    """A loopback TCP proxy to PostgreSQL that the test cuts (every connection closed, new
    ones refused) and restores on the same port."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self._target = target_port
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self._target
            )
        except OSError:
            writer.transport.abort()
            return
        self._open |= {writer, upstream_writer}
        await asyncio.gather(
            self._copy(reader, upstream_writer), self._copy(upstream_reader, writer)
        )

    async def _copy(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
        self._open.discard(writer)


@pytest.fixture
async def nats_own(tmp_path: Path) -> AsyncIterator[_NatsServer]:
    server = _NatsServer(tmp_path / "jetstream")
    await server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def proxied_state(pg_state_url: str) -> AsyncIterator[tuple[str, _Proxy]]:
    """The test's state database, reached through a proxy the test can cut."""
    target = int(PG_DSN.rsplit(":", 1)[1].split("/", 1)[0])
    proxy = _Proxy(target)
    await proxy.restore()
    database = pg_state_url.rsplit("/", 1)[1]
    try:
        yield f"postgresql://postgres@127.0.0.1:{proxy.port}/{database}", proxy
    finally:
        await proxy.cut()


def _workspace(root: Path, state: str, nats_url: str) -> Path:
    (root / "core.db").touch()
    (root / "dest.db").touch()
    path = root / "syncwell.yaml"
    path.write_text(
        f"name: ready-{uuid.uuid4().hex[:10]}\nstate: {state}\ncore: core\n"
        f"transport: {{url: '{nats_url}', partitions: 2}}\n"
        "systems:\n"
        "  core: {kind: sqlite, path: core.db}\n"
        "  dest: {kind: sqlite, path: dest.db}\n"
        "flows:\n"
        "  rows: {source: core, destination: dest, stream: t, key: id, cursor: at,"
        " interval: 1s}\n"
    )
    with contextlib.closing(sqlite3.connect(root / "core.db")) as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL)")
        db.commit()
    with contextlib.closing(sqlite3.connect(root / "dest.db")) as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT)")
        db.commit()
    return path


@contextlib.asynccontextmanager
async def _started(args: list[str], log: Path) -> AsyncIterator[subprocess.Popen[bytes]]:
    """A syncwell process, stopped by SIGTERM after; waited for without blocking the loop,
    which runs the state's proxy the process needs to stop."""
    with log.open("w") as output:
        process = _spawn(args, output)
        try:
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                await until(lambda: process.poll() is not None, within_s=30, every_s=0.1)
            except TimeoutError:
                process.kill()
                process.wait()
                raise AssertionError(f"{args[1]} did not stop on SIGTERM within 30 s") from None


def _spawn(args: list[str], output: IO[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT)


async def _readyz(port: int) -> tuple[int, dict[str, str]]:
    async with httpx.AsyncClient(timeout=10) as client:
        try:
            answer = await client.get(f"http://127.0.0.1:{port}/readyz")
        except httpx.HTTPError:
            return 0, {}
        return answer.status_code, answer.json()


async def _answers(port: int, status: int, reason: str = "", *, within_s: float = 30) -> None:
    """Wait until /readyz answers `status`, its reason containing `reason`."""

    async def answered() -> bool:
        code, body = await _readyz(port)
        return code == status and reason in body.get("reason", "")

    try:
        await until_true(answered, within_s=within_s, every_s=0.3)
    except TimeoutError:
        found = await _readyz(port)
        raise AssertionError(f"/readyz never answered {status} {reason!r}: {found}") from None


@pytest.mark.timeout(180)
async def test_worker_and_reader_are_not_ready_while_nats_or_the_state_is_down(
    tmp_path: Path, nats_own: _NatsServer, proxied_state: tuple[str, _Proxy]
) -> None:
    state, proxy = proxied_state
    workspace = _workspace(tmp_path, state, nats_own.url)
    worker_port, reader_port = free_port(), free_port()
    reader = [str(_SYNCWELL), "run", "-w", str(workspace), "--serve", "--port", str(reader_port)]
    worker = [str(_SYNCWELL), "worker", "-w", str(workspace), "--port", str(worker_port)]
    async with (
        _started(reader, tmp_path / "reader.log"),
        _started(worker, tmp_path / "worker.log"),
    ):
        for port in (worker_port, reader_port):
            await _answers(port, 200, within_s=60)

        nats_own.stop()
        for port in (worker_port, reader_port):
            await _answers(port, 503, "NATS")
        await nats_own.start()
        for port in (worker_port, reader_port):
            await _answers(port, 200)

        await proxy.cut()
        for port in (worker_port, reader_port):
            await _answers(port, 503, "state store")
        await proxy.restore()
        for port in (worker_port, reader_port):
            await _answers(port, 200)
