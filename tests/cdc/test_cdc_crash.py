"""Crash-safe positions of a CDC flow: the slot is confirmed only as far as the journal holds,
a snapshot cut short goes on without losing a delete, and kill -9 at random moments under a
write load loses nothing."""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path

import asyncpg
import pytest

from syncwell.connectors.postgres.cdc import capture as capture_module
from syncwell.connectors.postgres.pgoutput import parse_lsn
from syncwell.types import Checkpoint, StreamSpec
from tests.cdc.cdckit import (
    ForkedRuns,
    WriteLoad,
    apply_batch,
    capture_of,
    checkpoint_of,
    converged,
    create_pair,
    differences,
    first_page_journaled,
    slot_position,
    slot_released,
    start_run,
    table_state,
    write_workspace,
)

KILLS = 20
ROWS = 20_000
"""The table's rows at the start: a snapshot of 40 pages, long enough to be cut."""


async def test_the_slot_is_confirmed_only_once_the_batch_is_journaled(
    cdc_dsn: str, cdc_schema: str
) -> None:
    """While the engine holds a batch (its journal commit not done), the slot stays before
    it; once the engine reads on, the slot stands at the batch's end or later."""
    connection = await asyncpg.connect(cdc_dsn)
    capture = capture_of(cdc_dsn, cdc_schema)
    spec = StreamSpec("src", ("id",))
    try:
        await create_pair(connection, cdc_schema, 10)
        checkpoint: Checkpoint | None = None
        async for _, checkpoint in capture.read(spec, None):  # noqa: B007 - the last one
            pass
        assert checkpoint is not None
        started = parse_lsn(str(checkpoint["lsn"]))
        await connection.execute(f"UPDATE {cdc_schema}.src SET v = 2 WHERE id = 3")
        reading = capture.read(spec, checkpoint)
        batch, mark = await anext(reading)
        assert len(batch) == 1 and parse_lsn(str(mark["lsn"])) > started
        await asyncio.sleep(1.0)  # psycopg2 would report a confirmed position by now
        held = await slot_position(connection, cdc_schema)
        assert held is not None and held < parse_lsn(str(mark["lsn"]))
        async for _ in reading:  # the engine journaled the batch and reads on
            pass
        await asyncio.sleep(0.5)
        confirmed = await slot_position(connection, cdc_schema)
        assert confirmed is not None and confirmed >= parse_lsn(str(mark["lsn"]))
        await reading.aclose()  # type: ignore[attr-defined]
    finally:
        await capture.aclose()
        await connection.close()


async def test_other_tables_wal_moves_the_checkpoint_and_the_slot_along(
    cdc_dsn: str, cdc_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writes to a table the flow does not capture: once the stream is idle, the checkpoint
    moves to where the server has sent the stream, and the slot with it (it would otherwise
    hold that WAL until the captured table changed)."""
    monkeypatch.setattr(capture_module, "_MARK_EVERY_S", 0.0)
    connection = await asyncpg.connect(cdc_dsn)
    capture = capture_of(cdc_dsn, cdc_schema)
    spec = StreamSpec("src", ("id",))
    try:
        await create_pair(connection, cdc_schema, 10)
        checkpoint: Checkpoint | None = None
        async for _, checkpoint in capture.read(spec, None):  # noqa: B007 - the last one
            pass
        assert checkpoint is not None
        started = parse_lsn(str(checkpoint["lsn"]))
        await connection.execute(
            f"CREATE TABLE {cdc_schema}.other AS SELECT g AS id FROM generate_series(1, 20000) g"
        )
        marks = [mark async for batch, mark in capture.read(spec, checkpoint) if not len(batch)]
        assert marks, "no mark moved the checkpoint"
        moved = parse_lsn(str(marks[-1]["lsn"]))
        assert moved > started + 100_000  # past the other table's WAL
        await asyncio.sleep(0.3)
        confirmed = await slot_position(connection, cdc_schema)
        assert confirmed is not None and confirmed >= moved
    finally:
        await capture.aclose()
        await connection.close()


async def test_a_snapshot_cut_short_goes_on_and_misses_no_delete(
    cdc_dsn: str, cdc_schema: str
) -> None:
    """A crash after 3 snapshot pages, then deletes and updates before and after the point
    reached: the next read finishes the table from there and the stream from the slot's
    start brings the deletes of rows already read (starting over with a new slot would
    have left row 5 in the copy)."""
    connection = await asyncpg.connect(cdc_dsn)
    state: dict[int, tuple[object, ...]] = {}
    spec = StreamSpec("src", ("id",), batch_size=100)
    try:
        await create_pair(connection, cdc_schema, 3000)
        first = capture_of(cdc_dsn, cdc_schema)
        checkpoint: Checkpoint | None = None
        reading = first.read(spec, None)
        for _ in range(3):
            batch, checkpoint = await anext(reading)
            apply_batch(state, batch)
        await reading.aclose()  # type: ignore[attr-defined]
        await first.aclose()
        assert checkpoint is not None and checkpoint["phase"] == "snapshot"
        await connection.execute(
            f"""
            DELETE FROM {cdc_schema}.src WHERE id IN (5, 2500);
            UPDATE {cdc_schema}.src SET v = v + 1, name = 'later' WHERE id IN (10, 2600);
            """
        )
        second = capture_of(cdc_dsn, cdc_schema)
        try:
            async for batch, _mark in second.read(spec, checkpoint):
                apply_batch(state, batch)
        finally:
            await second.aclose()
        assert state == await table_state(connection, cdc_schema, "src")
        assert 5 not in state and state[10][0] == "later"
    finally:
        await connection.close()


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_kill_9_at_random_moments_under_a_write_load_loses_nothing(
    cdc_dsn: str, cdc_schema: str, tmp_path: Path
) -> None:
    """`syncwell run` killed with SIGKILL 20 times at random moments (the first in its
    snapshot) while a load inserts, updates and deletes: after each kill the slot has let go
    of no transaction the journal does not hold, and at the end the copy equals the source.
    SYNCWELL_TEST_SEED=N replays a failed run's schedule (the seed is in the failure)."""
    seed = int(os.environ.get("SYNCWELL_TEST_SEED") or random.randrange(1_000_000))
    rng = random.Random(seed)
    said = f"SYNCWELL_TEST_SEED={seed}"
    connection = await asyncpg.connect(cdc_dsn)
    load = WriteLoad(cdc_dsn, cdc_schema, first_new_id=ROWS, seed=seed, lsns=True)
    runs = ForkedRuns()
    started = time.monotonic()
    try:
        await create_pair(connection, cdc_schema, ROWS)
        path = write_workspace(tmp_path, cdc_dsn, cdc_schema)
        await runs.start()
        load.start()
        killed, phases = 0, []
        for round_ in range(KILLS):
            pid = await runs.run(tmp_path / "runs.log", "run", "-w", str(path), "--no-serve")
            if round_ == 0:  # the first kill lands in the snapshot
                await first_page_journaled(tmp_path / "state.db")
            await asyncio.sleep(rng.uniform(0.0, 0.05) if round_ == 0 else rng.uniform(0.2, 2.0))
            if runs.alive(pid):
                await runs.kill(pid)
                killed += 1
            checkpoint = await checkpoint_of(tmp_path)
            assert checkpoint is not None, said
            phases.append(checkpoint["phase"])
            journaled = parse_lsn(str(checkpoint["lsn"]))
            confirmed = await slot_released(connection, cdc_schema)
            assert confirmed is not None, said
            # The slot may stand past the checkpoint by WAL that held none of the table's
            # changes (replication.py), never past a transaction of the load.
            ahead = load.unjournaled_but_confirmed(journaled, confirmed)
            assert not ahead, (said, round_, checkpoint, confirmed, ahead[:5])
        assert phases[0] == "snapshot", (said, phases)
        await load.reach(501)
        await load.stop()
        finish = await start_run(path, "--once")
        _, stderr = await asyncio.wait_for(finish.communicate(), timeout=60)
        assert finish.returncode == 0, (said, stderr.decode()[-2000:])
        source, copy = await converged(connection, cdc_schema, timeout_s=5)
    finally:
        await load.stop()
        await runs.close()
        await connection.close()
    print(f"{said}: {killed} kills, {load.transactions} transactions, "
          f"{time.monotonic() - started:.1f} s, phases {phases}")  # fmt: skip
    assert killed == KILLS, (said, phases)
    assert load.transactions > 500, said
    assert source == copy, (said, differences(source, copy))
