"""A CDC flow whose source stops answering opens a `stalled` incident: it has no interval, so
before this only a refusal (a dropped column, a lost slot) ever opened one, and an outage of
the core database went unreported for as long as it lasted."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from syncwell.engine import Engine
from syncwell.measure import incidents
from syncwell.store import open_store
from syncwell.workspace import load_workspace
from tests.cdc.cdckit import create_pair, write_workspace
from tests.cdc.proxy import CuttableProxy
from tests.waiting import until

Stalled = list[tuple[str, float | None]]


async def _stalled(path: Path) -> Stalled:
    """The flow's `stalled` incidents as (detail, closed_at)."""
    store = await open_store(f"sqlite:///{path}")
    try:
        rows = await store.incidents.list()
    finally:
        await store.close()
    return [(i.detail, i.closed_at) for i in rows if i.cause == "stalled"]


@pytest.mark.timeout(90)
async def test_a_cut_longer_than_the_stall_window_opens_and_closes_stalled(
    cdc_dsn: str, cdc_schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the source cut off past the (shortened) stall window the incident opens naming
    the replication stream, and it closes once the stream reads again."""
    monkeypatch.setattr(incidents, "STREAM_STALLED_S", 2.0)
    address = urlsplit(cdc_dsn)
    proxy = CuttableProxy(address.hostname or "127.0.0.1", address.port or 5432)
    await proxy.start()
    through = cdc_dsn.replace(f":{address.port}/", f":{proxy.port}/")
    connection = await asyncpg.connect(cdc_dsn)
    stop = asyncio.Event()
    try:
        await create_pair(connection, cdc_schema, 100)
        path = write_workspace(tmp_path, cdc_dsn, cdc_schema, source_dsn=through)
        workspace = load_workspace(path)
        engine = Engine(workspace, analyse_every_s=None, measure_every_s=0.2)
        running = asyncio.create_task(engine.run(stop=stop))
        await until(lambda: engine.progress["rows"].reads > 0, within_s=30)
        state = tmp_path / "state.db"
        assert await _stalled(state) == []
        await proxy.cut()
        opened = await _wait_for(state, lambda found: any(c is None for _, c in found))
        assert "replication stream" in opened[0][0]
        await proxy.restore()
        closed = await _wait_for(state, lambda found: all(c is not None for _, c in found))
        assert len(closed) == 1
        stop.set()
        await running
    finally:
        stop.set()
        await proxy.close()
        await connection.close()


async def _wait_for(
    state: Path, done: Callable[[Stalled], bool], timeout_s: float = 40.0
) -> Stalled:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        found = await _stalled(state)
        if found and done(found):
            return found
        assert asyncio.get_running_loop().time() < deadline, f"stalled incidents: {found}"
        await asyncio.sleep(0.2)
