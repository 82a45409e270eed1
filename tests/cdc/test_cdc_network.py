"""A CDC flow through network cuts: the connections to the source die mid-stream (a proxy
cuts them and refuses new ones for a while), and the flow resumes from the journal's
position with nothing lost."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from syncwell.engine import Engine
from syncwell.workspace import load_workspace
from tests.cdc.cdckit import WriteLoad, converged, create_pair, differences, write_workspace
from tests.cdc.proxy import CuttableProxy


@pytest.mark.timeout(120)
async def test_network_cuts_mid_stream_lose_nothing(
    cdc_dsn: str, cdc_schema: str, tmp_path: Path
) -> None:
    """Three cuts of 1.5 s under a write load, one during the snapshot; the engine reconnects
    (replication and queries alike) and the copy ends equal to the source."""
    address = urlsplit(cdc_dsn)
    proxy = CuttableProxy(address.hostname or "127.0.0.1", address.port or 5432)
    await proxy.start()
    through = cdc_dsn.replace(f":{address.port}/", f":{proxy.port}/")
    connection = await asyncpg.connect(cdc_dsn)
    load = WriteLoad(cdc_dsn, cdc_schema, first_new_id=30_000)
    stop = asyncio.Event()
    try:
        await create_pair(connection, cdc_schema, 30_000)
        path = write_workspace(tmp_path, cdc_dsn, cdc_schema, source_dsn=through)
        engine = Engine(load_workspace(path), analyse_every_s=None)
        load.start()
        running = asyncio.create_task(engine.run(stop=stop))
        for pause in (0.5, 2.0, 2.0):
            await asyncio.sleep(pause)
            await proxy.cut()
            await asyncio.sleep(1.5)
            await proxy.restore()
        await asyncio.sleep(1.0)
        await load.reach(301)
        await load.stop()
        source, copy = await converged(connection, cdc_schema, timeout_s=60)
        stop.set()
        await running
    finally:
        stop.set()
        await load.stop()
        await proxy.close()
        await connection.close()
    assert proxy.cuts == 3 and load.transactions > 300
    assert engine.progress["rows"].read >= 30_000
    assert source == copy, differences(source, copy)
