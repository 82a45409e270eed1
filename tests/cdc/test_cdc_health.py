"""Slot health (issue 16 point 4): the WAL a CDC flow's slot keeps, in bytes and seconds, measured
by the running engine; an incident while it is over `cdc.max_retained`; the slot kept moving
by other tables' and other databases' WAL; and `syncwell check` naming slots no flow uses."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import psycopg2
import psycopg2.extras
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from syncwell.api import create_app
from syncwell.cli import app
from syncwell.engine import Engine
from syncwell.measure.prometheus import SyncwellCollector
from syncwell.store import open_store
from syncwell.workspace import load_workspace
from tests.asgi import serving
from tests.cdc.cdckit import create_pair, run_once

runner = CliRunner()


def _workspace(folder: Path, dsn: str, schema: str, *, flow: str = "rows", cdc: str = "") -> Path:
    """A workspace streaming `src` into `dst` by `mode: cdc`, retrying its source every
    second at most (a slot held elsewhere is tried again soon after it is let go)."""
    path = folder / "syncwell.yaml"
    path.write_text(
        f"""name: {schema}
state: sqlite:///{folder / "state.db"}
systems:
  core:
    kind: postgres
    dsn: {dsn}
    schema: {schema}
    connect_timeout_s: 3
    retry: {{cap_s: 1}}
  copy:
    kind: postgres
    dsn: {dsn}
    schema: {schema}
flows:
  {flow}:
    source: core
    destination: copy
    stream: src
    target: dst
    key: id
    version: v
    mode: cdc
    batch_size: 500
{cdc}"""
    )
    return path


@contextlib.contextmanager
def _held(dsn: str, slot: str) -> Iterator[None]:
    """Another process streams from `slot` and confirms nothing, as a stray consumer would."""
    connection = psycopg2.connect(
        dsn, connection_factory=psycopg2.extras.LogicalReplicationConnection
    )
    try:
        cursor = connection.cursor()
        cursor.start_replication(
            slot_name=slot, options={"proto_version": "1", "publication_names": slot}
        )
        yield
    finally:
        connection.close()


@contextlib.asynccontextmanager
async def _running(path: Path) -> AsyncIterator[Engine]:
    engine = Engine(load_workspace(path), analyse_every_s=None, measure_every_s=0.5)
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run(stop=stop))
    try:
        yield engine
    finally:
        stop.set()
        await task


async def _incidents(path: Path) -> list[tuple[str, str, float | None]]:
    store = await open_store(load_workspace(path).state)
    try:
        found = await store.incidents.list()
    finally:
        await store.close()
    return [(i.cause, i.detail, i.closed_at) for i in found]


async def _slot_minutes(path: Path) -> list[tuple[int, float]]:
    store = await open_store(load_workspace(path).state)
    try:
        rows = await store.measurements.read(since=0)
    finally:
        await store.close()
    return [
        (int(r["slot_retained_bytes_max"]), float(r["slot_retained_s_max"]))  # type: ignore[call-overload]
        for r in rows
        if r["slot_retained_bytes_max"] is not None
    ]


async def _shown(path: Path) -> None:
    """status (--json and its table), /metrics and the integration page of `syncwell serve`
    show the slot as the run measured it."""
    shown = await asyncio.to_thread(runner.invoke, app, ["status", "-w", str(path), "--json"])
    assert shown.exit_code == 0, shown.output
    report = next(r for r in json.loads(shown.output) if r["flow"] == "rows")
    assert report["slot_retained_bytes"] > 1_000_000 and report["slot_retained_s"] >= 2.0
    table = await asyncio.to_thread(
        runner.invoke, app, ["status", "-w", str(path)], terminal_width=160
    )
    assert "replication slots" in table.output and re.search(r"\d\.\d MB", table.output)
    workspace = load_workspace(path)
    store = await open_store(workspace.state)
    try:
        _, viewer = await store.tokens.create("viewer", "test")
    finally:
        await store.close()
    async with serving(
        create_app(workspace=workspace),
        base_url="http://127.0.0.1",
        headers={"authorization": f"Bearer {viewer}"},
    ) as client:
        metrics = (await client.get("/metrics")).text
        page = (await client.get("/integrations/copy")).text
    families = {f.name: f for f in text_string_to_metric_families(metrics)}
    (kept,) = families["syncwell_cdc_slot_retained_bytes"].samples
    assert kept.labels["flow"] == "rows" and kept.value > 1_000_000
    assert "Replication slots" in page and "Replication slot: WAL kept" in page


async def _until(check: Callable[[], Awaitable[bool]], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.25)
    return False


async def test_a_held_slot_is_measured_opens_an_incident_and_closes_it(
    cdc_dsn: str, cdc_schema: str, tmp_path: Path
) -> None:
    """A slot another process holds while 1 MB is written is measured over its 256 kB
    `max_retained` in bytes and seconds (store, /metrics, status), a slot_wal incident opens,
    and it closes once the flow streams again and the server lets the WAL go."""
    connection = await asyncpg.connect(cdc_dsn)
    try:
        await create_pair(connection, cdc_schema, 10)
        path = _workspace(tmp_path, cdc_dsn, cdc_schema, cdc="    cdc: {max_retained: 256kB}\n")
        await run_once(path)  # the slot and its snapshot
        slot = f"syncwell_{cdc_schema}_rows"
        with _held(cdc_dsn, slot):
            async with _running(path) as engine:
                await asyncio.sleep(1)
                for _ in range(4):
                    await connection.execute(
                        f"INSERT INTO {cdc_schema}.src (id, name) SELECT g, repeat('x', 500) "
                        f"FROM generate_series($1::bigint, $1 + 499) g",
                        int(time.time() * 1000) % 10**9 * 1000,
                    )
                    await asyncio.sleep(0.5)

                async def opened() -> bool:
                    return any(
                        c == "slot_wal" and at is None for c, _, at in await _incidents(path)
                    )

                assert await _until(opened, 10), await _incidents(path)
                await asyncio.sleep(1.5)
                sample = next(s for s in engine.observer.samples() if s.flow == "rows")
                assert sample.slot_retained_bytes is not None
                assert sample.slot_retained_bytes > 1_000_000
                assert sample.slot_retained_s is not None and sample.slot_retained_s >= 2.0
                collector = SyncwellCollector(cdc_schema, engine.observer.samples)
                gauges = {family.name: family for family in collector.collect()}
        detail = next(d for c, d, _ in await _incidents(path) if c == "slot_wal")
        assert (
            slot in detail
            and "over the 250.0 kB allowed" in detail
            and "cdc.max_retained" in detail
        )
        (kept,) = gauges["syncwell_cdc_slot_retained_bytes"].samples
        assert kept.labels["flow"] == "rows" and kept.value > 1_000_000
        (behind,) = gauges["syncwell_cdc_slot_retained_seconds"].samples
        assert behind.value >= 2.0
        minutes = await _slot_minutes(path)
        assert max(b for b, _ in minutes) > 1_000_000 and max(s for _, s in minutes) >= 2.0
        await _shown(path)

        # Let go: the flow streams again, and the server's checkpoint moves the restart point.
        async with _running(path):

            async def closed() -> bool:
                await connection.execute("CHECKPOINT")
                found = await _incidents(path)
                return any(c == "slot_wal" and at is not None for c, _, at in found)

            assert await _until(closed, 45), await _incidents(path)
    finally:
        await connection.close()


async def test_check_warns_of_a_slot_no_flow_uses(
    cdc_dsn: str, cdc_schema: str, tmp_path: Path
) -> None:
    """`syncwell check` names the slot of a flow removed from the workspace, with the SQL
    that drops it and its publication, and not the slot of a flow it still has."""
    connection = await asyncpg.connect(cdc_dsn)
    try:
        await create_pair(connection, cdc_schema, 5)
    finally:
        await connection.close()
    path = _workspace(tmp_path, cdc_dsn, cdc_schema)
    await run_once(path)
    slot = f"syncwell_{cdc_schema}_rows"
    kept = await asyncio.to_thread(runner.invoke, app, ["check", "-w", str(path)])
    assert kept.exit_code == 0, kept.output
    assert slot not in kept.output
    _workspace(tmp_path, cdc_dsn, cdc_schema, flow="renamed")
    checked = await asyncio.to_thread(runner.invoke, app, ["check", "-w", str(path)])
    assert checked.exit_code == 0, checked.output
    said = " ".join(checked.output.split())  # lines wrapped at the console's width
    assert f"replication slot {slot} (idle, keeps" in said
    assert f"{slot} (idle" in said and "no flow of this workspace uses it" in said
    assert f"SELECT pg_drop_replication_slot('{slot}'); DROP PUBLICATION IF EXISTS {slot};" in said


async def _write_for(connection: asyncpg.Connection, table: str, seconds: float) -> None:
    """About 1 MB of WAL a second into `table`, for `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await connection.execute(
            f"INSERT INTO {table} (pad) SELECT repeat('x', 400) FROM generate_series(1, 400)"
        )
        await asyncio.sleep(0.2)


async def _watched(engine: Engine, seconds: float) -> list[tuple[float, float]]:
    """The engine's own measurements of the flow's slot, (bytes, seconds), for `seconds`."""
    seen: list[tuple[float, float]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sample = next(s for s in engine.observer.samples() if s.flow == "rows")
        if sample.slot_retained_bytes is not None and sample.slot_retained_s is not None:
            seen.append((sample.slot_retained_bytes, sample.slot_retained_s))
        await asyncio.sleep(0.5)
    return seen


async def test_other_tables_and_databases_keep_a_quiet_slot_moving(
    cdc_dsn: str, cdc_schema: str, tmp_path: Path
) -> None:
    """With writes only to another table, then only to another database (about 1 MB/s for
    25 s each, none to the flow's table), the running flow's slot stays within 10 s of the
    WAL's end and lets its WAL go (its restart point moves, the WAL kept stays under 30 MB
    of the 50 MB written); stopped, the same writes stay kept in full."""
    connection = await asyncpg.connect(cdc_dsn)
    other_db = f"h_{cdc_schema}"
    await connection.execute(f"CREATE DATABASE {other_db}")
    other = await asyncpg.connect(cdc_dsn.rsplit("/", 1)[0] + f"/{other_db}")
    try:
        await create_pair(connection, cdc_schema, 5)
        await connection.execute(f"CREATE TABLE {cdc_schema}.other (id serial, pad text)")
        await other.execute("CREATE TABLE other (id serial, pad text)")
        path = _workspace(tmp_path, cdc_dsn, cdc_schema)
        await run_once(path)
        phases = {}
        async with _running(path) as engine:
            await asyncio.sleep(2)
            for name, writer, table in (
                ("other table", connection, f"{cdc_schema}.other"),
                ("other database", other, "other"),
            ):
                _, phases[name] = await asyncio.gather(
                    _write_for(writer, table, 25), _watched(engine, 25)
                )
        for name, seen in phases.items():
            kept = [b for b, _ in seen]
            assert max(s for _, s in seen) <= 10.0, (name, seen)
            assert max(kept) <= 30 * 2**20, (name, seen)
            let_go = any(later < earlier - 2**20 for earlier, later in itertools.pairwise(kept))
            assert let_go, (name, seen)  # the restart point moved: WAL released

        # Stopped, nothing confirms: the same writes are all kept.
        before = await _kept(connection, cdc_schema)
        await _write_for(connection, f"{cdc_schema}.other", 3)
        assert await _kept(connection, cdc_schema) - before >= 2 * 2**20
    finally:
        await other.close()
        await connection.execute(f"DROP DATABASE {other_db}")
        await connection.close()


async def _kept(connection: asyncpg.Connection, schema: str) -> int:
    """The WAL the test's slot keeps now, bytes."""
    return int(
        await connection.fetchval(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) "
            "FROM pg_replication_slots WHERE slot_name LIKE '%' || $1 || '%'",
            schema,
        )
    )
