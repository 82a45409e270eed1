"""Planted in a real run: a CDC flow whose replication slot falls behind is named the
constraint, `slot_behind`, from the engine's own slot measurements; a healthy CDC flow beside
it on the same database is no false alarm (issue 16 point 6)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from syncwell.analyze import Reason, analyze
from syncwell.engine import Engine
from syncwell.store import open_store
from syncwell.workspace import load_workspace
from tests.cdc.cdckit import TABLE
from tests.cdc.test_cdc_lag import HoldingProxy

HOLD_S = 40.0
"""How long the orders stream is held back: past the 30 s a healthy slot may read."""


def _workspace(folder: Path, dsn: str, held: str, schema: str) -> Path:
    """orders (read through the proxy) and items (direct), both by CDC from one database
    into a reporting core, each against a 10 s freshness SLO."""
    path = folder / "syncwell.yaml"
    flows = "".join(
        f"""  {name}:
    source: {name}_db
    destination: reporting
    stream: {name}_src
    target: {name}_dst
    key: id
    version: v
    mode: cdc
    slo: {{freshness: 10s}}
"""
        for name in ("orders", "items")
    )
    path.write_text(
        f"""name: {schema}
state: sqlite:///{folder / "state.db"}
core: reporting
systems:
  orders_db: {{kind: postgres, dsn: "{held}", schema: {schema}, connect_timeout_s: 3}}
  items_db: {{kind: postgres, dsn: "{dsn}", schema: {schema}, connect_timeout_s: 3}}
  reporting: {{kind: postgres, dsn: "{dsn}", schema: {schema}}}
flows:
{flows}"""
    )
    return path


async def _write(dsn: str, schema: str, stop: asyncio.Event) -> int:
    """An insert into each source table every 0.2 s until `stop`; how many rounds."""
    connection = await asyncpg.connect(dsn)
    rounds = 0
    try:
        while not stop.is_set():
            rounds += 1
            for name in ("orders", "items"):
                await connection.execute(
                    f"INSERT INTO {schema}.{name}_src (id, name) VALUES ($1, 'new')", 100 + rounds
                )
            await asyncio.sleep(0.2)
    finally:
        await connection.close()
    return rounds


async def _copied(connection: asyncpg.Connection, schema: str, rows: int) -> bool:
    counts = [
        await connection.fetchval(f"SELECT count(*) FROM {schema}.{name}_dst")
        for name in ("orders", "items")
    ]
    return counts == [rows, rows]


@pytest.mark.timeout(150)
async def test_a_slot_held_behind_is_the_constraint_and_its_healthy_neighbour_is_not(
    cdc_dsn: str, cdc_schema: str, tmp_path: Path
) -> None:
    """orders' stream held back 40 s under a steady write load: the analysis of the run names
    orders_db `slot_behind` (its slot measured 30 s and more behind, against a 10 s SLO);
    items, streaming from the same database all along, breaks nothing."""
    address = urlsplit(cdc_dsn)
    proxy = HoldingProxy(address.hostname or "127.0.0.1", address.port or 5432)
    await proxy.start()
    held = cdc_dsn.replace(f":{address.port}/", f":{proxy.port}/")
    connection = await asyncpg.connect(cdc_dsn)
    stop, done = asyncio.Event(), asyncio.Event()
    try:
        for table in ("orders_src", "orders_dst", "items_src", "items_dst"):
            await connection.execute(TABLE.format(schema=cdc_schema, table=table))
        for name in ("orders", "items"):
            await connection.execute(f"ALTER TABLE {cdc_schema}.{name}_src REPLICA IDENTITY FULL")
            await connection.execute(
                f"INSERT INTO {cdc_schema}.{name}_src (id, name) "
                "SELECT g, 'row' FROM generate_series(1, 100) g"
            )
        path = _workspace(tmp_path, cdc_dsn, held, cdc_schema)
        engine = Engine(load_workspace(path), measure_every_s=1.0, analyse_every_s=None)
        running = asyncio.create_task(engine.run(stop=stop))
        for _ in range(150):
            if await _copied(connection, cdc_schema, 100):
                break
            await asyncio.sleep(0.2)
        assert await _copied(connection, cdc_schema, 100)
        proxy.released.clear()
        writing = asyncio.create_task(_write(cdc_dsn, cdc_schema, done))
        await asyncio.sleep(HOLD_S)
        proxy.released.set()
        await asyncio.sleep(1.0)
        done.set()
        rounds = await writing
        for _ in range(150):
            if await _copied(connection, cdc_schema, 100 + rounds):
                break
            await asyncio.sleep(0.2)
        assert await _copied(connection, cdc_schema, 100 + rounds)
        stop.set()
        await running
    finally:
        stop.set()
        done.set()
        await proxy.close()
        await connection.close()
    workspace = load_workspace(path)
    store = await open_store(workspace.state)
    try:
        analysis = await analyze(store, workspace=workspace, window_s=600)
    finally:
        await store.close()
    by_flow = {verdict.flow: verdict for verdict in analysis.flows}
    constraint = analysis.constraint
    assert constraint is not None, analysis.summary
    assert (constraint.integration, constraint.flow, constraint.reason) == (
        "orders_db",
        "orders",
        Reason.SLOT_BEHIND,
    ), constraint
    assert "replication slot on orders_db fell" in constraint.evidence
    assert by_flow["items"].reason is None, by_flow["items"]
    assert [v.integration for v in analysis.ranking if v.breaching] == ["orders_db"]
