"""A CDC flow's start: the snapshot and the stream meet exactly, and a table whose updates
would lose TOASTed values is refused, or kept whole with REPLICA IDENTITY FULL."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from pathlib import Path

import asyncpg
import pytest

from syncwell.connectors.postgres.cdc import ChangeCapture, capture_names
from syncwell.connectors.postgres.settings import Settings
from syncwell.engine import Engine
from syncwell.errors import MisconfiguredError
from syncwell.types import Checkpoint, Op, StreamSpec
from syncwell.workspace import load_workspace
from tests.cdc.cdckit import (
    WriteLoad,
    converged,
    create_pair,
    differences,
    run_once,
    table_state,
    write_workspace,
)


async def test_changes_made_while_the_snapshot_is_read_are_neither_lost_nor_doubled(
    cdc_dsn: str, cdc_schema: str, tmp_path: Path
) -> None:
    """A write load runs from before the first snapshot page to after the stream began; the
    copy ends equal to the source (no update lost, no delete missed, no older version)."""
    connection = await asyncpg.connect(cdc_dsn)
    try:
        await create_pair(connection, cdc_schema, 3000)
        path = write_workspace(tmp_path, cdc_dsn, cdc_schema, extra="    batch_size: 50\n")
        path.write_text(path.read_text().replace("    batch_size: 500\n", ""))
        load = WriteLoad(cdc_dsn, cdc_schema, first_new_id=3000)
        load.start()
        await asyncio.sleep(0.2)
        stop = asyncio.Event()
        engine = Engine(load_workspace(path), analyse_every_s=None)
        running = asyncio.create_task(engine.run(stop=stop))
        await asyncio.sleep(3)
        await load.stop()
        source, copy = await converged(connection, cdc_schema)
        stop.set()
        await running
        assert load.transactions > 50
        assert source == copy, differences(source, copy)
    finally:
        await connection.close()


async def test_the_stream_starts_exactly_where_the_snapshot_saw_the_table(
    cdc_dsn: str, cdc_schema: str
) -> None:
    """Read by the capture itself under a write load: each key's versions arrive strictly
    increasing from its snapshot row on (a snapshot taken after the slot's starting point
    would be followed by changes it already holds), and replaying them gives the source."""
    connection = await asyncpg.connect(cdc_dsn)
    await create_pair(connection, cdc_schema, 3000)
    settings = Settings.model_validate({"kind": "postgres", "dsn": cdc_dsn, "schema": cdc_schema})
    capture = ChangeCapture("core", settings, capture_names(cdc_schema, "rows"))
    spec = StreamSpec("src", ("id",), batch_size=50)
    load = WriteLoad(cdc_dsn, cdc_schema, first_new_id=3000)
    seen: dict[int, list[int]] = {}
    state: dict[int, tuple[object, ...]] = {}
    try:
        load.start()
        await asyncio.sleep(0.2)
        checkpoint: Checkpoint | None = None
        pages, source, deadline = 0, None, time.monotonic() + 30
        # Read until the load has stopped and everything it committed has arrived.
        while source != state and time.monotonic() < deadline:
            async for batch, mark in capture.read(spec, checkpoint):
                checkpoint = mark
                pages += 1
                if pages == 150:
                    await load.stop()
                await asyncio.sleep(0.01)  # the time a journal commit takes
                for index, row in enumerate(batch.rows):
                    key = int(row[0])  # type: ignore[call-overload]
                    if batch.op(index) is Op.DELETE:
                        state.pop(key, None)
                        seen.setdefault(key, []).append(-1)
                    else:
                        state[key] = row[1:4]
                        seen.setdefault(key, []).append(int(row[3]))  # type: ignore[call-overload]
            if pages >= 150:
                source = await table_state(connection, cdc_schema, "src")
    finally:
        await load.stop()
        await capture.aclose()
        await connection.close()
    assert load.transactions > 50 and pages > 60
    backwards = {
        key: versions
        for key, versions in seen.items()
        if any(b <= a for a, b in itertools.pairwise(versions) if b >= 0)
    }
    assert not backwards, dict(list(backwards.items())[:5])
    assert state == source


async def test_a_table_whose_updates_would_drop_toasted_values_is_refused(
    cdc_dsn: str, cdc_schema: str
) -> None:
    """REPLICA IDENTITY DEFAULT with text columns: the capture refuses before it streams,
    naming the ALTER TABLE that fixes it."""
    connection = await asyncpg.connect(cdc_dsn)
    try:
        await create_pair(connection, cdc_schema, 1, identity="DEFAULT")
    finally:
        await connection.close()
    settings = Settings.model_validate({"kind": "postgres", "dsn": cdc_dsn, "schema": cdc_schema})
    capture = ChangeCapture("core", settings, capture_names(cdc_schema, "rows"))
    try:
        with pytest.raises(MisconfiguredError, match="REPLICA IDENTITY FULL") as refused:
            async for _ in capture.read(StreamSpec("src", ("id",)), None):
                pass
    finally:
        await capture.aclose()
    assert f'ALTER TABLE "{cdc_schema}"."src" REPLICA IDENTITY FULL' in str(refused.value)
    assert "name" in str(refused.value)


async def test_an_update_keeps_the_toasted_value_it_did_not_change(
    cdc_dsn: str, cdc_schema: str, tmp_path: Path
) -> None:
    """A 200 kB incompressible text stored out of line, then an update of another column:
    the copy still holds the text (pgoutput sent it as 'unchanged'; the old row had it)."""
    big = secrets.token_hex(100_000)
    connection = await asyncpg.connect(cdc_dsn)
    try:
        await create_pair(connection, cdc_schema, 3)
        path = write_workspace(tmp_path, cdc_dsn, cdc_schema)
        await run_once(path)
        await connection.execute(f"UPDATE {cdc_schema}.src SET name = $1 WHERE id = 2", big)
        stored = await connection.fetchval(
            "SELECT pg_column_size(name) FROM " + f"{cdc_schema}.src WHERE id = 2"
        )
        assert stored > 100_000  # incompressible: kept out of line
        await run_once(path)
        await connection.execute(f"UPDATE {cdc_schema}.src SET amount = 99, v = 5 WHERE id = 2")
        await run_once(path)
        copy = await table_state(connection, cdc_schema, "dst")
        assert copy[2][0] == big and copy[2][2] == 5
        assert copy == await table_state(connection, cdc_schema, "src")
    finally:
        await connection.close()


async def test_a_position_in_another_slot_is_refused(cdc_dsn: str, cdc_schema: str) -> None:
    """A checkpoint taken in one slot, read by a flow that now names another (cdc.slot
    changed): refused, saying which slot holds the position."""
    connection = await asyncpg.connect(cdc_dsn)
    try:
        await create_pair(connection, cdc_schema, 1)
    finally:
        await connection.close()
    settings = Settings.model_validate({"kind": "postgres", "dsn": cdc_dsn, "schema": cdc_schema})
    names = capture_names(cdc_schema, "rows", slot=f"{cdc_schema}_new")
    capture = ChangeCapture("core", settings, names)
    checkpoint = {"phase": "incremental", "slot": f"{cdc_schema}_old", "lsn": "0/0"}
    try:
        with pytest.raises(MisconfiguredError, match=f"slot {cdc_schema}_old"):
            async for _ in capture.read(StreamSpec("src", ("id",)), checkpoint):
                pass
    finally:
        await capture.aclose()
