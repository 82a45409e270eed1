"""Crashes and stops: kill -9 at random moments and SIGTERM mid-batch lose nothing."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import asyncpg
import pytest

from tests.pgdata import checksum, contacts_pair, write_workspace

SYNCWELL = str(Path(sys.executable).parent / "syncwell")


async def _start(path: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        SYNCWELL,
        "run",
        "-w",
        str(path),
        *args,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def _sqlite_deliveries(folder: Path) -> int:
    state = folder / ".syncwell" / "state.db"
    if not state.exists():
        return 0
    with sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=5) as connection:
        try:
            return int(connection.execute("SELECT count(*) FROM deliveries").fetchone()[0])
        except sqlite3.OperationalError:  # not migrated yet
            return 0


async def _kill_while_delivering(
    deliveries: Callable[[], Awaitable[int]],
    process: asyncio.subprocess.Process,
    rng: random.Random,
) -> bool:
    """kill -9 at a random moment after this run's first delivery; whether it was still running.

    `deliveries` counts the rows of the state store's deliveries table (another process's).
    """
    before = await deliveries()
    while process.returncode is None and await deliveries() == before:  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    await asyncio.sleep(rng.uniform(0.0, 0.6))
    if process.returncode is not None:
        return False
    process.send_signal(signal.SIGKILL)
    return True


async def _finish(path: Path) -> None:
    process = await _start(path, "--once")
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=240)
    assert process.returncode == 0, stderr.decode()[-2000:]


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_kill_9_at_ten_random_moments_loses_nothing(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path
) -> None:
    """kill -9 ten times during a 200,000-row sync (with edits between); the copy ends equal."""
    rng = random.Random(20261127)
    await contacts_pair(pg, pg_schema, 200_000)
    path = write_workspace(tmp_path, pg_schema)
    killed_mid_sync = 0
    for round_ in range(10):
        process = await _start(path, "--once")
        started = time.monotonic()
        killed_mid_sync += await _kill_while_delivering(
            partial(_sqlite_deliveries, tmp_path), process, rng
        )
        await process.wait()
        assert time.monotonic() - started < 120
        # People keep working between crashes: a tenth of the rows changes each round, some
        # already copied and some not, so every restart has real work to be killed in.
        await pg.execute(
            f"UPDATE {pg_schema}.src SET score = score + 1, updated_at = now() WHERE id % 10 = $1",
            round_,
        )
    assert killed_mid_sync >= 8, "the kills must land while the engine works"
    await _finish(path)
    assert await checksum(pg, pg_schema, "dst") == await checksum(pg, pg_schema, "src")


@pytest.mark.timeout(300)
async def test_sigterm_mid_batch_exits_zero_and_the_restart_resumes(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path
) -> None:
    """SIGTERM while batches are in flight: exit 0 within the grace period; a rerun completes."""
    await contacts_pair(pg, pg_schema, 100_000)
    path = write_workspace(tmp_path, pg_schema)
    process = await _start(path)  # not --once: only a signal ends it
    for _ in range(400):
        await asyncio.sleep(0.05)
        if await pg.fetchval(f"SELECT count(*) FROM {pg_schema}.dst") > 0:
            break
    copied = await pg.fetchval(f"SELECT count(*) FROM {pg_schema}.dst")
    assert 0 < copied < 100_000, "the signal must arrive mid-sync"
    process.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, stderr.decode()[-2000:]
    await _finish(path)
    assert await checksum(pg, pg_schema, "dst") == await checksum(pg, pg_schema, "src")


def test_syncwell_console_script_is_installed() -> None:
    """The tests above drive the real `syncwell` command of this virtualenv."""
    assert os.access(SYNCWELL, os.X_OK)
