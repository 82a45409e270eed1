"""A destination that cannot be written is recorded as failing, then recovers by itself."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from syncwell.engine import Engine, admin
from syncwell.workspace import load_workspace
from tests.pgdata import checksum, create_contacts, fill_contacts, write_workspace

FAST = """    retry: {base_s: 0.01, cap_s: 0.05, max_attempts: 2}
    breaker: {failure_threshold: 2, open_s: 0.2, max_open_s: 0.5}
"""


async def test_missing_target_is_reported_and_the_backlog_drains_once_it_exists(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path
) -> None:
    """Writes fail while the target table is missing (status shows why); nothing is lost."""
    await create_contacts(pg, pg_schema, "src")
    await fill_contacts(pg, pg_schema, "src", 3000)
    path = write_workspace(tmp_path, pg_schema, dest_extra=FAST)
    workspace = load_workspace(path)
    engine = Engine(workspace)
    stop = asyncio.Event()
    running = asyncio.create_task(engine.run(stop=stop))
    await asyncio.sleep(2.0)
    (report,) = await admin.flow_reports(workspace)
    assert report.failures_24h >= 1 and "does not exist" in report.last_failure
    assert report.backlog >= 3000, "read and journaled, waiting for the destination"
    await create_contacts(pg, pg_schema, "dst")  # the fix
    for _ in range(100):
        await asyncio.sleep(0.1)
        if (await admin.flow_reports(workspace))[0].backlog == 0:
            break
    stop.set()
    await asyncio.wait_for(running, timeout=15)
    assert await checksum(pg, pg_schema, "dst") == await checksum(pg, pg_schema, "src")
