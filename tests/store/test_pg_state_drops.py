"""A `syncwell run` whose PostgreSQL connections the server ends again and again.

`pg_terminate_backend` ends the state store's connections (all of this test's own state
database; they show application_name syncwell-state) and the connectors' (syncwell:<system>,
the systems named for this test) while rows change. A connection the server ended must never
serve a second operation (asyncpg then says "another operation is in progress"), no failure may
go unretrieved ("... exception was never retrieved"), and the run must recover and deliver
every row.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from syncwell.store.pg_connections import APPLICATION_NAME
from tests.conftest import PG_DSN
from tests.pgdata import checksum, contacts_pair
from tests.waiting import until_true

SYNCWELL = str(Path(sys.executable).parent / "syncwell")
KILLS = 30
# What the run's output must never hold, by whose connections the server ends.
NEVER = {
    "state": ("another operation", "never retrieved", "Traceback"),
    "connectors": ("Traceback",),
}


def _workspace(folder: Path, schema: str, state_url: str, name: str) -> Path:
    """A postgres -> postgres flow; its systems, `{name}_src` and `{name}_dst`, connect as
    application_name syncwell:<system>."""
    dsn = PG_DSN
    path = folder / "syncwell.yaml"
    path.write_text(
        f"""
state: {state_url}
systems:
  {name}_src: {{kind: postgres, dsn: "{dsn}", schema: {schema}}}
  {name}_dst: {{kind: postgres, dsn: "{dsn}", schema: {schema}}}
flows:
  contacts:
    source: {name}_src
    destination: {name}_dst
    stream: src
    target: dst
    key: id
    cursor: updated_at
    interval: 1s
    lookback: 5m
    batch_size: 2000
"""
    )
    return path


async def _change(pg: asyncpg.Connection, schema: str, stop: asyncio.Event) -> None:
    """Touch 400 rows fifty times a second, so reads and writes are in flight."""
    round_ = 0
    while not stop.is_set():
        await pg.execute(
            f"UPDATE {schema}.src SET score = score + 1, updated_at = now() WHERE id % 100 = $1",
            round_ % 50,
        )
        round_ += 1
        await asyncio.sleep(0.02)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("whose", ["state", "connectors"])
async def test_a_run_survives_its_postgres_connections_being_ended(
    pg: asyncpg.Connection, pg_schema: str, pg_state_url: str, tmp_path: Path, whose: str
) -> None:
    """Thirty rounds of pg_terminate_backend on the state store's connections, or on the
    connectors', while rows change: the copy ends equal to its source and the run exits 0.
    Ending the state's, no connection serves two operations and no failure goes unretrieved;
    ending the connectors', no error escapes as unexpected (a traceback). asyncpg itself still
    says "another operation" there, after a COPY the server ended (docs/guarantees.md)."""
    await contacts_pair(pg, pg_schema, 20_000)
    name = f"sw_drops_{uuid.uuid4().hex[:8]}"
    state_database = pg_state_url.rsplit("/", 1)[1]
    workspace = _workspace(tmp_path, pg_schema, pg_state_url, name)
    log = tmp_path / "run.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            SYNCWELL, "run", "-w", str(workspace), stdout=output, stderr=output
        )
    changer = await asyncpg.connect(PG_DSN)

    def copied(rows: int) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            assert process.returncode is None, f"the run ended: {process.returncode}"
            return (await checksum(pg, pg_schema, "dst"))[0] >= rows

        return check

    async def equal() -> bool:
        assert process.returncode is None, f"the run ended: {process.returncode}"
        return await checksum(pg, pg_schema, "dst") == await checksum(pg, pg_schema, "src")

    stop, ended = asyncio.Event(), list[int]()
    try:
        await until_true(copied(20_000), within_s=60)  # the first sync done: at work
        named = await pg.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
            state_database,
            APPLICATION_NAME,
        )
        changing = asyncio.ensure_future(_change(changer, pg_schema, stop))
        for _ in range(KILLS):
            if whose == "state":  # the state database is this test's alone
                where, args = "datname = $1", [state_database]
            else:
                systems = [f"syncwell:{name}_{end}" for end in ("src", "dst")]
                where, args = "application_name IN ($1, $2)", systems
            ended.append(
                await pg.fetchval(
                    f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE {where}",
                    *args,
                )
            )
            await asyncio.sleep(0.25)
        stop.set()
        await changing
        await until_true(equal, within_s=60)
        process.send_signal(signal.SIGTERM)
        returncode = await asyncio.wait_for(process.wait(), 30)
    finally:
        stop.set()
        await changer.close()
        if process.returncode is None:
            process.kill()
            await process.wait()
    output = log.read_text()
    assert sum(ended) >= KILLS, f"{whose} connections ended per round: {ended}"
    assert returncode == 0, output
    for text in NEVER[whose]:
        assert text not in output, f"{text!r} in the output of the run:\n{output}"
    assert named >= 1, "the state store's connections say whose they are to operators"
