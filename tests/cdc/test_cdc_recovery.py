"""A CDC flow whose replication slot was lost (dropped, or invalidated by PostgreSQL): the run
says so with the fix, `syncwell cdc reset` starts it over from a new snapshot, and the rows
deleted while the slot was lost go from the destination too (the flow's key ledger finds
them; a snapshot cannot)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

from syncwell.cli import app
from syncwell.engine import Engine
from syncwell.errors import IntegrationFatalError
from syncwell.types import StreamSpec
from syncwell.workspace import load_workspace
from tests.cdc.cdckit import (
    capture_of,
    checkpoint_of,
    converged,
    create_pair,
    differences,
    run_once,
    table_state,
    write_workspace,
)
from tests.cdc.conftest import drop_captures
from tests.cdc.logical_pg import private_cluster

runner = CliRunner()


async def _drop_slot_under_the_run(connection: asyncpg.Connection, schema: str) -> None:
    """End the walsender streaming the test's slot, and drop the slot (as a DBA would)."""
    slot = f"syncwell_{schema}_rows"
    for _ in range(100):
        await connection.execute(
            "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
            "WHERE slot_name = $1 AND active_pid IS NOT NULL",
            slot,
        )
        try:
            await connection.execute("SELECT pg_drop_replication_slot($1)", slot)
            return
        except asyncpg.ObjectInUseError:  # its walsender is still ending, or came back
            await asyncio.sleep(0.05)
    raise AssertionError(f"could not drop {slot}")


async def _refused(engine: Engine, timeout_s: float = 30.0) -> str:
    """The flow's last read error once it names the slot lost."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        error = engine.progress["rows"].last_error or ""
        if "cdc reset" in error:
            return error
        await asyncio.sleep(0.1)
    raise AssertionError(f"no lost-slot error: {engine.progress['rows'].last_error}")


async def test_a_lost_slot_is_said_and_a_reset_deletes_what_went_meanwhile(
    cdc_dsn: str, cdc_schema: str, tmp_path: Path
) -> None:
    """The slot dropped under a streaming run: the run's error names the slot and `syncwell
    cdc reset rows`; after the reset, one run leaves the copy equal to the source, the 30
    rows deleted while the slot was lost gone too (they stayed without the key ledger)."""
    connection = await asyncpg.connect(cdc_dsn)
    try:
        await create_pair(connection, cdc_schema, 1000)
        path = write_workspace(tmp_path, cdc_dsn, cdc_schema)
        stop = asyncio.Event()
        engine = Engine(load_workspace(path), analyse_every_s=None)
        running = asyncio.create_task(engine.run(stop=stop))
        try:
            await connection.execute(f"UPDATE {cdc_schema}.src SET v = 2 WHERE id <= 10")
            source, copy = await converged(connection, cdc_schema)
            assert source == copy, differences(source, copy)
            await _drop_slot_under_the_run(connection, cdc_schema)
            await connection.execute(
                f"""
                DELETE FROM {cdc_schema}.src WHERE id BETWEEN 101 AND 130;
                UPDATE {cdc_schema}.src SET v = 3, name = 'while lost' WHERE id <= 5;
                INSERT INTO {cdc_schema}.src (id, name, amount)
                    SELECT g, 'new', 1 FROM generate_series(1001, 1010) g;
                """
            )
            error = await _refused(engine)
        finally:
            stop.set()
            await running
        assert f"replication slot syncwell_{cdc_schema}_rows is gone" in error
        assert "`syncwell cdc reset rows`" in error

        arguments = ["cdc", "reset", "rows", "-w", str(path), "--yes"]
        reset = await asyncio.to_thread(runner.invoke, app, arguments)
        assert reset.exit_code == 0, reset.output
        assert "no replication slot" in reset.output and "new snapshot" in reset.output
        assert await checkpoint_of(tmp_path) is None
        engine = await run_once(path)
        assert engine.progress["rows"].deletes_found == 30
        source = await table_state(connection, cdc_schema, "src")
        copy = await table_state(connection, cdc_schema, "dst")
        assert source == copy, differences(source, copy)
        assert copy[1][0] == "while lost" and 1005 in copy
    finally:
        await connection.close()


@pytest.fixture(scope="module")
def own_dsn() -> Iterator[str]:
    """A private wal_level=logical cluster whose max_slot_wal_keep_size this module may set."""
    try:
        with private_cluster() as dsn:
            yield dsn
    except (OSError, RuntimeError) as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI cannot start a private PostgreSQL: {error}")
        pytest.skip(f"cannot start a private PostgreSQL: {error}")


async def _invalidate(connection: asyncpg.Connection, schema: str) -> str | None:
    """Let PostgreSQL invalidate the idle slot: keep 1 MB of WAL for slots at most, write
    much more, and checkpoint; the slot's wal_status then."""
    await connection.execute("ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'")
    await connection.execute("SELECT pg_reload_conf()")
    status = None
    for _ in range(5):
        await connection.execute(
            f"CREATE TABLE IF NOT EXISTS {schema}.filler (g int, pad text);"
            f"INSERT INTO {schema}.filler SELECT g, repeat('x', 200) "
            "FROM generate_series(1, 100000) g;"
            "SELECT pg_switch_wal(); CHECKPOINT;"
        )
        status = await connection.fetchval(
            "SELECT wal_status FROM pg_replication_slots WHERE slot_name LIKE '%' || $1 || '%'",
            schema,
        )
        if status == "lost":
            break
    return status


@pytest.mark.timeout(120)
async def test_a_slot_invalidated_by_postgresql_is_said_and_reset(
    own_dsn: str, tmp_path: Path
) -> None:
    """The flow's idle slot invalidated by max_slot_wal_keep_size (wal_status lost) while 15
    rows are deleted: the read refuses, saying so and naming the reset; after `syncwell cdc
    reset rows` one run leaves the copy equal to the source, the 15 rows gone."""
    schema = "lost_test"
    connection = await asyncpg.connect(own_dsn)
    await connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    try:
        await create_pair(connection, schema, 200)
        path = write_workspace(tmp_path, own_dsn, schema)
        await run_once(path)
        await connection.execute(f"DELETE FROM {schema}.src WHERE id BETWEEN 11 AND 25")
        assert await _invalidate(connection, schema) == "lost"
        capture = capture_of(own_dsn, schema)
        try:
            with pytest.raises(IntegrationFatalError) as refused:
                async for _ in capture.read(
                    StreamSpec("src", ("id",)), await checkpoint_of(tmp_path)
                ):
                    pass
        finally:
            await capture.aclose()
        assert "was invalidated" in str(refused.value) and "cdc reset" in str(refused.value)
        arguments = ["cdc", "reset", "rows", "-w", str(path), "--yes"]
        reset = await asyncio.to_thread(runner.invoke, app, arguments)
        assert reset.exit_code == 0 and "dropped replication slot" in reset.output, reset.output
        engine = await run_once(path)
        assert engine.progress["rows"].deletes_found == 15
        source = await table_state(connection, schema, "src")
        copy = await table_state(connection, schema, "dst")
        assert source == copy, differences(source, copy)
    finally:
        await connection.execute("ALTER SYSTEM RESET max_slot_wal_keep_size")
        await connection.execute("SELECT pg_reload_conf()")
        await drop_captures(connection, schema)
        await connection.close()
