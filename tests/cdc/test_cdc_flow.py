"""`mode: cdc` end to end in the engine: a snapshot, then inserts, updates and deletes as
they commit, from one PostgreSQL table into another."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from syncwell.connectors.postgres.pgoutput import parse_lsn
from syncwell.store import open_store
from tests.cdc.cdckit import (
    WriteLoad,
    create_pair,
    run_once,
    slot_position,
    table_state,
    write_workspace,
)


async def test_the_snapshot_then_inserts_updates_and_deletes_arrive(
    cdc_dsn: str, cdc_schema: str, tmp_path: Path
) -> None:
    """The first run copies the table; the next brings an insert, an update, a delete and a
    key change, each as the source has it, and the slot stands where the journal does."""
    connection = await asyncpg.connect(cdc_dsn)
    try:
        await create_pair(connection, cdc_schema, 1200)
        path = write_workspace(tmp_path, cdc_dsn, cdc_schema)
        await run_once(path)
        source = await table_state(connection, cdc_schema, "src")
        assert await table_state(connection, cdc_schema, "dst") == source
        await connection.execute(
            f"""
            INSERT INTO {cdc_schema}.src (id, name, amount) VALUES (5000, 'new', 1);
            UPDATE {cdc_schema}.src SET name = 'changed', v = v + 1 WHERE id = 7;
            DELETE FROM {cdc_schema}.src WHERE id = 8;
            UPDATE {cdc_schema}.src SET id = 6000, v = v + 1 WHERE id = 9;
            """
        )
        await run_once(path)
        after = await table_state(connection, cdc_schema, "dst")
        assert after == await table_state(connection, cdc_schema, "src")
        assert after[7][0] == "changed" and 8 not in after and 9 not in after and 6000 in after
        store = await open_store(f"sqlite:///{tmp_path / 'state.db'}")
        try:
            checkpoint = await store.journal.checkpoint("rows")
        finally:
            await store.close()
        assert checkpoint is not None and checkpoint["phase"] == "incremental"
        assert await slot_position(connection, cdc_schema) == parse_lsn(str(checkpoint["lsn"]))
    finally:
        await connection.close()


async def test_a_one_off_run_ends_under_a_steady_write_load(
    cdc_dsn: str, cdc_schema: str, tmp_path: Path
) -> None:
    """`run --once` reads up to where the WAL stood when it began and ends, though the load
    never pauses long enough for the stream to fall idle; the next one brings the rest."""
    connection = await asyncpg.connect(cdc_dsn)
    load = WriteLoad(cdc_dsn, cdc_schema, first_new_id=2000)
    try:
        await create_pair(connection, cdc_schema, 2000)
        path = write_workspace(tmp_path, cdc_dsn, cdc_schema)
        load.start()
        await asyncio.sleep(0.5)
        engines = [await asyncio.wait_for(run_once(path), timeout=30) for _ in range(2)]
        await load.stop()
        engines.append(await run_once(path))  # each finds the slot the one before let go of
        assert not any(engine.progress["rows"].gave_up for engine in engines)
        source = await table_state(connection, cdc_schema, "src")
        assert await table_state(connection, cdc_schema, "dst") == source
        assert load.transactions > 100
    finally:
        await load.stop()
        await connection.close()
