"""A CDC flow through a PostgreSQL restart mid-stream, on a server of the test's own (the
machine's is shared): the flow reconnects and resumes from the journal's position."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from syncwell.engine import Engine
from syncwell.workspace import load_workspace
from tests.cdc.cdckit import (
    WriteLoad,
    converged,
    create_pair,
    differences,
    first_page_journaled,
    write_workspace,
)
from tests.cdc.conftest import drop_captures
from tests.cdc.logical_pg import private_cluster, restart


@pytest.fixture(scope="module")
def own_dsn() -> Iterator[str]:
    """A private wal_level=logical cluster this module may restart."""
    try:
        with private_cluster() as dsn:
            yield dsn
    except (OSError, RuntimeError) as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI cannot start a private PostgreSQL to restart: {error}")
        pytest.skip(f"cannot start a private PostgreSQL to restart: {error}")


@pytest.mark.timeout(120)
async def test_a_postgresql_restart_mid_stream_loses_nothing(own_dsn: str, tmp_path: Path) -> None:
    """Two fast restarts (every connection ended) under a write load, the first during the
    snapshot; the copy ends equal to the source."""
    schema = "restart_test"
    connection = await asyncpg.connect(own_dsn)
    await connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    await create_pair(connection, schema, 30_000)
    await connection.close()
    path = write_workspace(tmp_path, own_dsn, schema)
    load = WriteLoad(own_dsn, schema, first_new_id=30_000)
    stop = asyncio.Event()
    engine = Engine(load_workspace(path), analyse_every_s=None)
    load.start()
    running = asyncio.create_task(engine.run(stop=stop))
    try:
        phase = await first_page_journaled(tmp_path / "state.db")
        await asyncio.to_thread(restart, own_dsn)
        await asyncio.sleep(3.0)
        await asyncio.to_thread(restart, own_dsn)
        await asyncio.sleep(2.0)
        await load.reach(301)
        await load.stop()
        connection = await asyncpg.connect(own_dsn)
        source, copy = await converged(connection, schema, timeout_s=60)
    finally:
        stop.set()
        await load.stop()
        await running
    try:
        assert '"phase": "snapshot"' in phase  # the first restart cut the snapshot
        assert load.transactions > 300
        assert source == copy, differences(source, copy)
    finally:
        await drop_captures(connection, schema)
        await connection.close()
