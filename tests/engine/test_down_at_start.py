"""A system that is down when a run starts: a continuous run keeps going and keeps trying,
with an incident and one line that says so; a one-off run gives up on its flows, clearly.

The system that is down is the machine's PostgreSQL behind a port nothing listens on yet; a
small proxy on that port, started later, brings it up.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import asyncpg
import pytest
from structlog.testing import capture_logs

from syncwell.engine import Engine
from syncwell.engine.startup import address_of
from syncwell.store import Store, open_store
from syncwell.workspace import load_workspace
from syncwell.workspace.kinds import HttpSettings, PostgresSettings, SqliteSettings
from tests.conftest import PG_DSN
from tests.scenarios.runs import SYNCWELL
from tests.waiting import until, until_true

Side = Literal["source", "destination"]

# `waits` has a side on the system that is down; `runs` has both sides up. Fast retries, so
# that a system that comes back is found within a fraction of a second.
WORKSPACE = """
systems:
  up: {{kind: postgres, dsn: "{dsn}", schema: {schema}}}
  other: {{kind: postgres, dsn: "{dsn}", schema: {schema}}}
  down:
    kind: postgres
    dsn: "{down_dsn}"
    schema: {schema}
    connect_timeout_s: 2
    retry: {{base_s: 0.05, cap_s: 0.2, max_attempts: 3}}
flows:
  waits: {{source: {waits_from}, destination: {waits_to}, stream: people, target: people_in,
          key: id, cursor: at, interval: 1s}}
  runs: {{source: other, destination: up, stream: deals, target: deals_in, key: id, cursor: at,
         interval: 1s}}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def _proxy(port: int) -> AsyncIterator[None]:
    """Listen on `port` and forward each connection to the machine's PostgreSQL."""
    target = urlsplit(PG_DSN)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        writer.close()

    open_writers: list[asyncio.StreamWriter] = []

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = await asyncio.open_connection(target.hostname, target.port or 5432)
        open_writers.extend((writer, upstream[1]))
        await asyncio.gather(pipe(reader, upstream[1]), pipe(upstream[0], writer))

    server = await asyncio.start_server(forward, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()
        for writer in open_writers:  # Python 3.11's server has no close_clients()
            writer.close()
        await server.wait_closed()


async def _workspace(
    pg: asyncpg.Connection, schema: str, root: Path, side: Side, port: int
) -> Path:
    """Tables people (4 rows) and deals (3 rows), and a workspace whose `down` system, the
    source or the destination of flow `waits`, is behind `port`."""
    for table, rows in (("people", 4), ("deals", 3)):
        await pg.execute(f"CREATE TABLE {schema}.{table} (id int PRIMARY KEY, at int NOT NULL)")
        await pg.execute(
            f"INSERT INTO {schema}.{table} SELECT g, g FROM generate_series(1, {rows}) g"
        )
        await pg.execute(f"CREATE TABLE {schema}.{table}_in (id int PRIMARY KEY, at int NOT NULL)")
    parts = urlsplit(PG_DSN)
    down_dsn = parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:{port}").geturl()
    path = root / "syncwell.yaml"
    path.write_text(
        WORKSPACE.format(
            dsn=PG_DSN,
            down_dsn=down_dsn,
            schema=schema,
            waits_from="down" if side == "source" else "up",
            waits_to="up" if side == "source" else "down",
        )
    )
    return path


async def _open_incidents(store: Store, cause: str) -> list[str]:
    """The evidence of the open incidents of flow `waits` with `cause`."""
    found = await store.incidents.list(open_only=True)
    return [i.detail for i in found if i.flow == "waits" and i.cause == cause]


@pytest.mark.parametrize("side", ["source", "destination"])
async def test_a_continuous_run_waits_for_a_system_that_is_down_and_syncs_when_it_is_up(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path, side: Side
) -> None:
    """The run goes on; the flow with a side down has its last error, a failure for `status`
    and an `unreachable` incident naming the system and its address, and one warning says so;
    the other flow syncs meanwhile. When the system comes up, the flow syncs and the incident
    closes."""
    port = _free_port()
    path = await _workspace(pg, pg_schema, tmp_path, side, port)
    workspace = load_workspace(path)
    engine = Engine(workspace, analyse_every_s=None, grace_s=1.0, measure_every_s=0.1)
    stop = asyncio.Event()
    store = await open_store(workspace.state)
    with capture_logs() as logs:
        running = asyncio.create_task(engine.run(stop=stop))
        try:
            await until(lambda: engine.progress["waits"].last_error != "", within_s=20)
            assert "ConnectionRefusedError" in engine.progress["waits"].last_error
            await until_true(
                lambda: _count(pg, f"{pg_schema}.deals_in", 3), within_s=20, every_s=0.1
            )
            await until_true(lambda: _has_incident(store, "unreachable"), within_s=20, every_s=0.1)
            (evidence,) = await _open_incidents(store, "unreachable")
            assert f"its {side} down at 127.0.0.1:{port}/" in evidence, evidence
            assert "syncwell keeps trying" in evidence
            (report,) = await store.reports.flows(["waits"])
            assert "ConnectionRefusedError" in report.last_failure  # status, /api/v1/flows
            assert not running.done()
            assert await pg.fetchval(f"SELECT count(*) FROM {pg_schema}.people_in") == 0

            async with _proxy(port):
                await until_true(
                    lambda: _count(pg, f"{pg_schema}.people_in", 4), within_s=30, every_s=0.1
                )
                await until_true(
                    lambda: _no_incident(store, "unreachable"), within_s=20, every_s=0.1
                )
                stop.set()
                await running
        finally:
            stop.set()
            await asyncio.gather(running, return_exceptions=True)
            await store.close()
    down = [e for e in logs if e["log_level"] == "warning" and "cannot be reached" in e["event"]]
    assert len(down) == 1, down  # one line, however many tries
    assert down[0]["event"].startswith(f"{side} down at 127.0.0.1:{port}/")
    assert "keeps trying" in down[0]["event"]
    assert not engine.progress["waits"].gave_up


async def _count(pg: asyncpg.Connection, table: str, rows: int) -> bool:
    return bool(await pg.fetchval(f"SELECT count(*) FROM {table}") == rows)


async def _has_incident(store: Store, cause: str) -> bool:
    return bool(await _open_incidents(store, cause))


async def _no_incident(store: Store, cause: str) -> bool:
    return not await _open_incidents(store, cause)


@pytest.mark.parametrize("side", ["source", "destination"])
async def test_run_once_gives_up_on_a_system_that_stays_down_in_one_line(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path, side: Side
) -> None:
    """`run --once` tries the system `retry.max_attempts` times, then ends with exit 1 and one
    line naming the system, its address and the fix; no traceback; the other flow synced."""
    port = _free_port()
    path = await _workspace(pg, pg_schema, tmp_path, side, port)

    result = await asyncio.to_thread(
        subprocess.run,
        [SYNCWELL, "run", "--once", "-w", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("flow ")]
    assert line.startswith(
        f"flow waits: cannot reach down at 127.0.0.1:{port}/test (3 attempts failed): "
        "ConnectionRefusedError"
    ), line
    assert line.endswith("Start down or fix its address in the workspace (`syncwell probe` "
                         "tries it), then run again.")  # fmt: skip
    assert await pg.fetchval(f"SELECT count(*) FROM {pg_schema}.deals_in") == 3


async def test_syncwell_run_keeps_running_with_a_source_down_and_stops_cleanly(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path
) -> None:
    """The issue's reproduction: `syncwell run` with a source on a closed port exited 1 after
    2 s with a 280-line traceback. Now it says so in one line and runs until stopped."""
    port = _free_port()
    path = await _workspace(pg, pg_schema, tmp_path, "source", port)
    process = await asyncio.create_subprocess_exec(
        SYNCWELL, "run", "-w", str(path), "--no-serve",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await until_true(lambda: _count(pg, f"{pg_schema}.deals_in", 3), within_s=30, every_s=0.1)
        await asyncio.sleep(3)  # it died after 2 s
        assert process.returncode is None
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        stdout, stderr = await process.communicate()
    output = stdout.decode() + stderr.decode()
    assert process.returncode == 0, output
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if "cannot be reached" in line]
    assert len(lines) == 1, output
    assert f"source down at 127.0.0.1:{port}/test cannot be reached" in lines[0]
    assert "ConnectionRefusedError" in lines[0]


async def test_a_system_that_refuses_at_the_start_ends_the_run_in_one_line(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path
) -> None:
    """A database that answers and refuses (no such database) is the workspace's mistake: the
    run ends at once, exit 1, with the error and where to fix it; no traceback."""
    await pg.execute(f"CREATE TABLE {pg_schema}.people (id int PRIMARY KEY, at int NOT NULL)")
    missing = PG_DSN.rsplit("/", 1)[0] + "/no_such_database_here"
    path = tmp_path / "syncwell.yaml"
    path.write_text(
        "systems:\n"
        f'  up: {{kind: postgres, dsn: "{PG_DSN}", schema: {pg_schema}}}\n'
        f'  gone: {{kind: postgres, dsn: "{missing}", schema: {pg_schema}}}\n'
        "flows:\n"
        "  waits: {source: up, destination: gone, stream: people, key: id, cursor: at}\n"
    )
    result = await asyncio.to_thread(
        subprocess.run,
        [SYNCWELL, "run", "-w", str(path), "--no-serve"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert 'database "no_such_database_here" does not exist' in result.stderr
    assert "Fix it in the workspace (`syncwell probe` tries each system)" in result.stderr


def test_an_address_names_host_port_and_database_never_credentials() -> None:
    """What the line and the incident say of where a system is."""
    secret = PostgresSettings(kind="postgres", dsn="postgresql://ann:s3cret@db.internal:6432/app")
    assert address_of(secret) == "db.internal:6432/app"
    http = HttpSettings.model_construct(base_url="https://bob:pw@api.example.com/v2?k=1")
    assert address_of(http) == "api.example.com/v2"
    assert address_of(SqliteSettings(kind="sqlite", path="crm.db")) == "crm.db"
