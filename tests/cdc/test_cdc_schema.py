"""A `mode: cdc` flow while its table changes shape (columns added, dropped, retyped) or is
truncated: what is carried through, and what is refused with an error and an incident."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from syncwell.engine import Engine
from syncwell.engine.admin import resync
from syncwell.store import Incident, open_store
from syncwell.workspace import load_workspace
from tests.cdc.cdckit import create_pair, run_once, table_state, write_workspace

FAST_RETRIES = "\ndefaults:\n  retry: {base_s: 0.05, cap_s: 0.2, max_attempts: 2}\n"
"""A one-off run gives up on a refused read after two quick tries, not six slow ones."""


async def _open_incidents(folder: Path) -> list[Incident]:
    store = await open_store(f"sqlite:///{folder / 'state.db'}")
    try:
        return await store.incidents.list(open_only=True)
    finally:
        await store.close()


async def _column(connection: asyncpg.Connection, schema: str, table: str, column: str) -> dict:
    rows = await connection.fetch(f"SELECT id, {column} FROM {schema}.{table}")
    return {row[0]: row[1] for row in rows}


@contextlib.asynccontextmanager
async def running(path: Path) -> AsyncIterator[Engine]:
    """`syncwell run` of the workspace in this process, stopped at the end."""
    engine = Engine(load_workspace(path), analyse_every_s=None, measure_every_s=0.5)
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run(stop=stop))
    try:
        yield engine
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def until(check: Callable[[], Awaitable[bool]], timeout_s: float = 30.0) -> bool:
    """Whether `check` came true within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.2)
    return True


async def _equal(connection: asyncpg.Connection, schema: str, *columns: str) -> bool:
    """Whether `dst` holds what `src` does in `columns` (id, name, amount and v when none)."""
    if not columns:
        source = await table_state(connection, schema, "src")
        return source == await table_state(connection, schema, "dst")
    return all(
        [await _column(connection, schema, "src", c) == await _column(connection, schema, "dst", c)
         for c in columns]
    )  # fmt: skip


def _stuck(engine: Engine) -> str:
    progress = engine.progress["rows"]
    assert progress.gave_up and progress.stuck is not None
    return progress.stuck.reason


async def test_an_added_column_is_carried_when_the_flow_moves_every_column(
    cdc_dsn: str, cdc_schema: str, tmp_path: Path
) -> None:
    """A column added to the source while the flow streams arrives in the destination (which
    has it too) from the next change on, also when added inside the transaction that fills
    it."""
    connection = await asyncpg.connect(cdc_dsn)
    try:
        await create_pair(connection, cdc_schema, 50)
        path = write_workspace(tmp_path, cdc_dsn, cdc_schema)
        src, dst = f"{cdc_schema}.src", f"{cdc_schema}.dst"
        async with running(path) as engine:
            assert await until(lambda: _equal(connection, cdc_schema))
            await connection.execute(f"ALTER TABLE {dst} ADD COLUMN note text")
            await connection.execute(
                f"""
                BEGIN;
                UPDATE {src} SET v = v + 1, name = 'before' WHERE id = 1;
                ALTER TABLE {src} ADD COLUMN note text;
                UPDATE {src} SET v = v + 1, note = 'same transaction' WHERE id = 2;
                COMMIT;
                UPDATE {src} SET v = v + 1, note = 'later' WHERE id = 3;
                INSERT INTO {src} (id, name, note) VALUES (100, 'new', 'inserted');
                """
            )
            carried = await until(lambda: _equal(connection, cdc_schema, "note"), 15)
            assert not engine.progress["rows"].gave_up
        notes = await _column(connection, cdc_schema, "dst", "note")
        assert carried, notes
        assert notes[2] == "same transaction" and notes[3] == "later" and notes[100] == "inserted"
        assert await _equal(connection, cdc_schema)
        assert not await _open_incidents(tmp_path)  # nor drift: the read-back sees note too
    finally:
        await connection.close()


async def test_an_added_column_the_destination_lacks_names_the_alter_table(
    cdc_dsn: str, cdc_schema: str, tmp_path: Path
) -> None:
    """A column added to the source alone stops the writes with the statement that adds it to
    the destination; once it is run, the waiting changes arrive with their values."""
    connection = await asyncpg.connect(cdc_dsn)
    try:
        await create_pair(connection, cdc_schema, 10)
        path = write_workspace(tmp_path, cdc_dsn, cdc_schema, extra=FAST_RETRIES)
        await run_once(path)
        src = f"{cdc_schema}.src"
        await connection.execute(f"ALTER TABLE {src} ADD COLUMN score integer")
        await connection.execute(f"UPDATE {src} SET v = v + 1, score = 7 WHERE id = 4")
        stuck = _stuck(await run_once(path))
        assert "score" in stuck and "ADD COLUMN" in stuck, stuck
        await connection.execute(f"ALTER TABLE {cdc_schema}.dst ADD COLUMN score integer")
        engine = await run_once(path)
        assert not engine.progress["rows"].gave_up
        assert (await _column(connection, cdc_schema, "dst", "score"))[4] == 7
    finally:
        await connection.close()


async def test_an_added_column_the_flow_does_not_name_is_not_carried(
    cdc_dsn: str, cdc_schema: str, tmp_path: Path
) -> None:
    """With `fields:`, a column added to the source is left out and the flow goes on (the
    destination does not have it)."""
    connection = await asyncpg.connect(cdc_dsn)
    try:
        await create_pair(connection, cdc_schema, 10)
        fields = "    fields: [id, name, amount, v]\n"
        path = write_workspace(tmp_path, cdc_dsn, cdc_schema, extra=fields + FAST_RETRIES)
        await run_once(path)
        src = f"{cdc_schema}.src"
        await connection.execute(f"ALTER TABLE {src} ADD COLUMN secret text")
        await connection.execute(
            f"UPDATE {src} SET v = v + 1, name = 'x', secret = 's' WHERE id = 5"
        )
        engine = await run_once(path)
        assert not engine.progress["rows"].gave_up
        assert (await table_state(connection, cdc_schema, "dst"))[5][0] == "x"
    finally:
        await connection.close()


async def test_a_dropped_column_the_flow_does_not_need_is_no_longer_carried(
    cdc_dsn: str, cdc_schema: str, tmp_path: Path
) -> None:
    """A flow moving every column goes on when one is dropped from the source while it
    streams: later changes carry the others, and the destination keeps what it had in the
    dropped one."""
    connection = await asyncpg.connect(cdc_dsn)
    try:
        await create_pair(connection, cdc_schema, 10)
        path = write_workspace(tmp_path, cdc_dsn, cdc_schema, extra=FAST_RETRIES)
        src = f"{cdc_schema}.src"

        async def arrived() -> bool:
            return 50 in await table_state(connection, cdc_schema, "dst")

        async with running(path) as engine:
            assert await until(lambda: _equal(connection, cdc_schema))
            await connection.execute(f"UPDATE {src} SET v = v + 1, amount = 11 WHERE id = 1")
            await connection.execute(f"ALTER TABLE {src} DROP COLUMN name")
            await connection.execute(f"UPDATE {src} SET v = v + 1, amount = 22 WHERE id = 2")
            await connection.execute(f"INSERT INTO {src} (id, amount) VALUES (50, 5)")
            assert await until(arrived, 15), engine.progress["rows"].last_error
        copy = await table_state(connection, cdc_schema, "dst")
        assert copy[1] == ("row 1", Decimal("11.00"), 2)
        assert copy[2] == ("row 2", Decimal("22.00"), 2)
        assert copy[50] == (None, Decimal("5.00"), 1)
        assert not await _open_incidents(tmp_path)
    finally:
        await connection.close()


@pytest.mark.parametrize(
    ("fields", "dropped"),
    [("    fields: [id, name, amount, v]\n", "name"), ("", "v")],
    ids=["a-named-field", "the-version"],
)
async def test_a_dropped_column_the_flow_needs_is_refused_with_an_incident(
    cdc_dsn: str, cdc_schema: str, tmp_path: Path, fields: str, dropped: str
) -> None:
    """A column the flow names (or its version) dropped from the source stops the flow with
    an error naming it and opens an incident; the changes committed before arrive."""
    connection = await asyncpg.connect(cdc_dsn)
    try:
        await create_pair(connection, cdc_schema, 10)
        path = write_workspace(tmp_path, cdc_dsn, cdc_schema, extra=fields + FAST_RETRIES)
        await run_once(path)
        src = f"{cdc_schema}.src"
        await connection.execute(f"UPDATE {src} SET v = v + 1, amount = 11 WHERE id = 1")
        await connection.execute(f"ALTER TABLE {src} DROP COLUMN {dropped}")
        await connection.execute(f"UPDATE {src} SET amount = 22 WHERE id = 2")
        stuck = _stuck(await run_once(path))
        assert f"column {dropped}" in stuck or f"column(s) {dropped}" in stuck, stuck
        copy = await table_state(connection, cdc_schema, "dst")
        assert copy[1][1] == Decimal("11.00")  # committed before the drop: delivered
        assert copy[2][1] == Decimal("2.50")  # after it: refused, not half carried
        incidents = await _open_incidents(tmp_path)
        assert [i.flow for i in incidents] == ["rows"], incidents
        assert dropped in incidents[0].detail, incidents[0]
    finally:
        await connection.close()


async def test_a_changed_column_type_follows_the_stream(
    cdc_dsn: str, cdc_schema: str, tmp_path: Path
) -> None:
    """After ALTER COLUMN ... TYPE while the flow streams, values are typed as the column now
    is (numeric(12,4) keeps four decimals; typed as the old numeric(12,2), they lost two)."""
    connection = await asyncpg.connect(cdc_dsn)
    try:
        await create_pair(connection, cdc_schema, 10)
        path = write_workspace(tmp_path, cdc_dsn, cdc_schema)

        async def arrived() -> bool:
            return (await table_state(connection, cdc_schema, "dst"))[3][2] == 2

        async with running(path):
            assert await until(lambda: _equal(connection, cdc_schema))
            for table in ("src", "dst"):
                await connection.execute(
                    f"ALTER TABLE {cdc_schema}.{table} ALTER COLUMN amount TYPE numeric(12, 4)"
                )
            await connection.execute(
                f"UPDATE {cdc_schema}.src SET v = v + 1, amount = 1.2345 WHERE id = 3"
            )
            assert await until(arrived, 15)
        assert (await table_state(connection, cdc_schema, "dst"))[3][1] == Decimal("1.2345")
    finally:
        await connection.close()


async def test_a_truncate_is_refused_with_an_incident_until_the_flow_is_resynced(
    cdc_dsn: str, cdc_schema: str, tmp_path: Path
) -> None:
    """A TRUNCATE of the source stops the flow after the changes committed before it, with an
    error naming the fix and an incident; emptying the destination and `syncwell resync`
    (the fix it names) make the copy equal again and close the incident."""
    connection = await asyncpg.connect(cdc_dsn)
    try:
        await create_pair(connection, cdc_schema, 10)
        path = write_workspace(tmp_path, cdc_dsn, cdc_schema, extra=FAST_RETRIES)
        await run_once(path)
        src = f"{cdc_schema}.src"
        await connection.execute(f"UPDATE {src} SET v = v + 1, amount = 11 WHERE id = 1")
        await connection.execute(f"TRUNCATE {src}")
        await connection.execute(f"INSERT INTO {src} (id, name, amount) VALUES (200, 'n', 2)")
        stuck = _stuck(await run_once(path))
        assert "TRUNCATE" in stuck and "syncwell resync" in stuck, stuck
        copy = await table_state(connection, cdc_schema, "dst")
        assert copy[1][1] == Decimal("11.00") and 200 not in copy and len(copy) == 10
        (incident,) = await _open_incidents(tmp_path)
        assert (incident.flow, incident.cause) == ("rows", "refused")
        assert "TRUNCATE" in incident.detail
        await connection.execute(f"TRUNCATE {cdc_schema}.dst")
        await resync(load_workspace(path), ["rows"])
        engine = await run_once(path)
        assert not engine.progress["rows"].gave_up
        assert await _equal(connection, cdc_schema)
        assert not await _open_incidents(tmp_path)
    finally:
        await connection.close()


async def test_a_column_added_out_of_line_is_refused_without_replica_identity_full(
    cdc_dsn: str, cdc_schema: str, tmp_path: Path
) -> None:
    """A text column added while streaming a REPLICA IDENTITY DEFAULT table, in a flow moving
    every column, is refused as at the start (an unchanged TOASTed value would not be carried),
    naming REPLICA IDENTITY FULL, with an incident."""
    connection = await asyncpg.connect(cdc_dsn)
    try:
        for table in ("src", "dst"):
            await connection.execute(
                f"CREATE TABLE {cdc_schema}.{table} (id bigint PRIMARY KEY, amount integer, "
                "v bigint NOT NULL DEFAULT 1)"
            )
        await connection.execute(f"INSERT INTO {cdc_schema}.src (id, amount) VALUES (1, 1)")
        path = write_workspace(tmp_path, cdc_dsn, cdc_schema, extra=FAST_RETRIES)
        src = f"{cdc_schema}.src"

        async def refused() -> bool:
            return "REPLICA IDENTITY FULL" in engine.progress["rows"].last_error

        async with running(path) as engine:
            assert await until(lambda: _equal(connection, cdc_schema, "amount"))
            await connection.execute(f"ALTER TABLE {cdc_schema}.dst ADD COLUMN note text")
            await connection.execute(f"ALTER TABLE {src} ADD COLUMN note text")
            await connection.execute(f"UPDATE {src} SET v = v + 1, note = 'n' WHERE id = 1")
            assert await until(refused, 15), engine.progress["rows"].last_error
            assert "note" in engine.progress["rows"].last_error
            assert await until(lambda: _has_incident(tmp_path), 10)
    finally:
        await connection.close()


async def _has_incident(folder: Path) -> bool:
    return [i.cause for i in await _open_incidents(folder)] == ["refused"]


async def test_a_generated_column_is_left_to_the_destination(
    cdc_dsn: str, cdc_schema: str, tmp_path: Path
) -> None:
    """A flow moving every column leaves out a generated column, which the stream never
    sends, in its snapshot too (a destination generating it as well stays right), and a flow
    naming one is refused at the start, saying so."""
    connection = await asyncpg.connect(cdc_dsn)
    try:
        for table in ("src", "dst"):
            await connection.execute(
                f"CREATE TABLE {cdc_schema}.{table} (id bigint PRIMARY KEY, amount integer, "
                "v bigint NOT NULL DEFAULT 1, total integer GENERATED ALWAYS AS (amount * 2) "
                "STORED)"
            )
        src = f"{cdc_schema}.src"
        await connection.execute(f"INSERT INTO {src} (id, amount) VALUES (1, 1), (2, 2)")
        path = write_workspace(tmp_path, cdc_dsn, cdc_schema, extra=FAST_RETRIES)
        async with running(path) as engine:
            assert await until(lambda: _equal(connection, cdc_schema, "total"), 15), (
                engine.progress["rows"].last_error
            )
            await connection.execute(f"UPDATE {src} SET v = v + 1, amount = 10 WHERE id = 2")
            await connection.execute(f"INSERT INTO {src} (id, amount) VALUES (3, 3)")
            assert await until(lambda: _equal(connection, cdc_schema, "total", "amount"), 15)
        named = "    fields: [id, amount, v, total]\n"
        path = write_workspace(tmp_path, cdc_dsn, cdc_schema, extra=named + FAST_RETRIES)
        stuck = _stuck(await run_once(path))
        assert "total" in stuck and "generated" in stuck, stuck
    finally:
        await connection.close()


async def test_a_replica_identity_lowered_while_streaming_is_refused(
    cdc_dsn: str, cdc_schema: str, tmp_path: Path
) -> None:
    """REPLICA IDENTITY FULL turned back to DEFAULT on a table with text columns while the
    flow streams is refused at the next read, as it would be at the start, with an incident."""
    connection = await asyncpg.connect(cdc_dsn)
    try:
        await create_pair(connection, cdc_schema, 10)
        path = write_workspace(tmp_path, cdc_dsn, cdc_schema, extra=FAST_RETRIES)
        src = f"{cdc_schema}.src"

        async def refused() -> bool:
            return "REPLICA IDENTITY FULL" in engine.progress["rows"].last_error

        async with running(path) as engine:
            assert await until(lambda: _equal(connection, cdc_schema))
            await connection.execute(f"UPDATE {src} SET v = v + 1, amount = 2 WHERE id = 1")
            assert await until(lambda: _equal(connection, cdc_schema))  # streamed under FULL
            await connection.execute(f"ALTER TABLE {src} REPLICA IDENTITY DEFAULT")
            await connection.execute(f"UPDATE {src} SET v = v + 1, amount = 3 WHERE id = 1")
            assert await until(refused, 15), engine.progress["rows"].last_error
            assert await until(lambda: _has_incident(tmp_path), 10)
    finally:
        await connection.close()


async def test_a_resync_after_a_truncate_holds_back_deleting_the_whole_copy(
    cdc_dsn: str, cdc_schema: str, tmp_path: Path
) -> None:
    """`syncwell resync` after a TRUNCATE, the copy left as it was: the new snapshot brings
    the rows inserted since, and deleting every row it no longer finds is held back by the
    delete guard, with its incident, rather than done."""
    connection = await asyncpg.connect(cdc_dsn)
    try:
        await create_pair(connection, cdc_schema, 50)
        path = write_workspace(tmp_path, cdc_dsn, cdc_schema, extra=FAST_RETRIES)
        await run_once(path)
        await connection.execute(f"TRUNCATE {cdc_schema}.src")
        await connection.execute(
            f"INSERT INTO {cdc_schema}.src (id, name, amount) VALUES (200, 'n', 2)"
        )
        _stuck(await run_once(path))
        await resync(load_workspace(path), ["rows"])
        await run_once(path)
        copy = await table_state(connection, cdc_schema, "dst")
        assert 200 in copy and len(copy) == 51
        causes = {i.cause for i in await _open_incidents(tmp_path)}
        assert causes == {"deletes_held"}, causes
    finally:
        await connection.close()
