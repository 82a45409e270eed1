"""A CDC flow's freshness lag runs from the transaction's commit, not from when syncwell read
it: a stream held back (the walsender's bytes kept from syncwell for seconds, as a slot falling
behind does) is measured late, not fresh."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from syncwell.engine import Engine
from syncwell.engine.changetimes import lag_clocks
from syncwell.store import open_store
from syncwell.workspace import load_workspace
from tests.cdc.cdckit import converged, create_pair, write_workspace

HOLD_S = 3.0


class HoldingProxy:
    """Forwards 127.0.0.1:`port` to PostgreSQL; while `held`, what the server sends on a
    replication connection waits (the stream stalls; queries on other connections go on)."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._server: asyncio.Server | None = None
        self.released = asyncio.Event()
        self.released.set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self.released.set()
        if self._server is not None:
            self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        kind = {"replication": False}
        await asyncio.gather(
            self._pipe(reader, up_writer, kind, inbound=True),
            self._pipe(up_reader, writer, kind, inbound=False),
        )

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        kind: dict[str, bool],
        *,
        inbound: bool,
    ) -> None:
        try:
            while data := await reader.read(65536):
                if inbound and b"replication\x00" in data:  # the startup message says so
                    kind["replication"] = True
                if not inbound and kind["replication"]:
                    await self.released.wait()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.transport.abort()


@pytest.mark.timeout(90)
async def test_a_held_back_stream_measures_lag_from_the_commit(
    cdc_dsn: str, cdc_schema: str, tmp_path: Path
) -> None:
    """A row committed while the stream is held back 3 s is measured about 3 s late (its
    commit to its write) and counted late against a 2 s SLO. (Stamped with the time syncwell
    read it instead, or with the poll bound, the same run measures 0.05 s, never late.)"""
    address = urlsplit(cdc_dsn)
    proxy = HoldingProxy(address.hostname or "127.0.0.1", address.port or 5432)
    await proxy.start()
    through = cdc_dsn.replace(f":{address.port}/", f":{proxy.port}/")
    connection = await asyncpg.connect(cdc_dsn)
    stop = asyncio.Event()
    try:
        await create_pair(connection, cdc_schema, 10)
        path = write_workspace(
            tmp_path, cdc_dsn, cdc_schema, source_dsn=through, extra="    slo: {freshness: 2s}\n"
        )
        engine = Engine(load_workspace(path), analyse_every_s=None)
        running = asyncio.create_task(engine.run(stop=stop))
        source, copy = await converged(connection, cdc_schema)
        assert source == copy
        await asyncio.sleep(1.5)  # streaming, idle: reads end and begin again
        proxy.released.clear()
        await asyncio.sleep(0.2)
        before = time.time()
        await connection.execute(f"INSERT INTO {cdc_schema}.src (id, name) VALUES (11, 'held')")
        committed = time.time()
        await asyncio.sleep(HOLD_S)
        proxy.released.set()
        source, copy = await converged(connection, cdc_schema)
        written = time.time()
        assert 11 in copy
        stop.set()
        await running
    finally:
        stop.set()
        await proxy.close()
        await connection.close()
    store = await open_store(load_workspace(path).state)
    try:
        totals = {row["flow"]: row for row in await store.measurements.totals(since=0, until=2e9)}
    finally:
        await store.close()
    rows = totals["rows"]
    assert HOLD_S - 0.2 <= rows["lag_max_s"] <= written - before + 0.5, (rows, committed)
    assert rows["late"] == 1, rows


def test_status_names_the_commit_as_a_cdc_flows_clock(tmp_path: Path) -> None:
    """`syncwell status --json` says a CDC flow's lag runs on its commits (it said `poll`)."""
    path = write_workspace(tmp_path, "postgresql://127.0.0.1/test", "s")
    assert lag_clocks(load_workspace(path)) == {"rows": "commit"}
