"""A one-off run gives up on a flow that cannot make progress, says why and the fix, and ends;
a continuous run keeps probing."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import timedelta
from pathlib import Path

import asyncpg

from syncwell.engine import Engine
from syncwell.engine.patience import retry_budget_s, stuck_on
from syncwell.errors import IntegrationFatalError, StoreError, TransientError
from syncwell.store import Store, open_store
from syncwell.workspace import RetryPolicy, load_workspace
from tests.conftest import PG_DSN
from tests.scenarios.runs import SYNCWELL
from tests.waiting import until, until_true

# Fast retries; the breaker keeps its defaults but probes after 0.2 s, so that a hang shows
# within the test's timeout: before the fix, its probes doubled up to 300 s apart, for hours.
WORKSPACE = """
systems:
  crm: {{kind: postgres, dsn: "{dsn}", schema: {schema}, retry: {{base_s: 0.01, cap_s: 0.02}}}}
  core-db:
    kind: postgres
    dsn: "{dsn}"
    schema: {schema}
    retry: {{base_s: 0.01, cap_s: 0.02}}
    breaker: {{open_s: 0.2}}
flows:
  contacts: {{source: crm, destination: core-db, stream: people, target: contacts, key: id,
             cursor: at}}
  deals: {{source: crm, destination: core-db, stream: deals, target: deals_in, key: id,
          cursor: at}}
"""


def test_the_retry_budget_is_what_the_retries_would_wait_at_most() -> None:
    """The defaults wait at most 0.5 + 1 + 2 + 4 + 8 s; a cap and a schedule count too."""
    assert retry_budget_s(RetryPolicy()) == 15.5
    assert retry_budget_s(RetryPolicy(base_s=1, cap_s=2, max_attempts=4)) == 1 + 2 + 2
    waits = (timedelta(seconds=5), timedelta(minutes=5))
    assert retry_budget_s(RetryPolicy(schedule=waits)) == 305


def test_a_fatal_error_carried_as_transient_is_named_with_its_own_fix() -> None:
    """Delivery probes a missing table as a transient error; the line names the table."""
    fatal = IntegrationFatalError("table public.contacts does not exist", system="core-db")
    carried = TransientError(str(fatal), system="core-db", flow="contacts")
    carried.__cause__ = fatal
    stuck = stuck_on(carried, stage="write", system="core-db", attempts=6)
    assert stuck.line("contacts") == (
        "flow contacts: cannot write to core-db: table public.contacts does not exist. "
        "Run again once that is fixed."
    )


def test_a_transient_error_says_how_often_it_failed_and_to_check_the_system() -> None:
    """A system that keeps failing is named with the attempts, its error and what to check."""
    error = TransientError("POST /members answered 503 Service Unavailable", system="crm")
    stuck = stuck_on(error, stage="write", system="crm", attempts=6)
    stuck = type(stuck)(stuck.stage, stuck.system, stuck.reason, stuck.fix, waiting=4)
    assert stuck.line("members") == (
        "flow members: cannot write to crm (6 attempts failed): POST /members answered 503 "
        "Service Unavailable. Check that crm is up and answers (`syncwell probe` tries it), "
        "then run again. 4 changes wait in the journal."
    )
    store = stuck_on(StoreError("disk full"), stage="read", system="crm", attempts=3)
    assert store.system == "state" and "the state store failed: disk full" in store.reason


async def _tables(pg: asyncpg.Connection, schema: str) -> None:
    """Source tables people (4 rows) and deals (3 rows); only deals has its destination."""
    for table, rows in (("people", 4), ("deals", 3)):
        await pg.execute(f"CREATE TABLE {schema}.{table} (id int PRIMARY KEY, at int NOT NULL)")
        await pg.execute(
            f"INSERT INTO {schema}.{table} SELECT g, g FROM generate_series(1, {rows}) g"
        )
    await pg.execute(f"CREATE TABLE {schema}.deals_in (id int PRIMARY KEY, at int NOT NULL)")


async def _synced_then_dropped(pg: asyncpg.Connection, schema: str, root: Path) -> Path:
    """A workspace whose flows synced once; then contacts' table is dropped and 2 people change.

    The next run reads incrementally and fails only at the write: its changes are journaled.
    """
    await _tables(pg, schema)
    await pg.execute(f"CREATE TABLE {schema}.contacts (id int PRIMARY KEY, at int NOT NULL)")
    path = root / "syncwell.yaml"
    path.write_text(WORKSPACE.format(dsn=PG_DSN, schema=schema))
    async with asyncio.timeout(60):
        await Engine(load_workspace(path), analyse_every_s=None).run(once=True)
    assert await pg.fetchval(f"SELECT count(*) FROM {schema}.contacts") == 4
    await pg.execute(f"DROP TABLE {schema}.contacts")
    await pg.execute(f"UPDATE {schema}.people SET at = at + 100 WHERE id <= 2")
    return path


async def _backlog(path: Path) -> dict[str, int]:
    """Changes waiting in the journal, per flow."""
    store = await open_store(load_workspace(path).state)
    try:
        return {flow: changes for flow, (_, changes, _) in (await store.journal.backlog()).items()}
    finally:
        await store.close()


def _run_once(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SYNCWELL, "run", "--once", "-w", str(path)],
        capture_output=True,
        text=True,
        timeout=60,  # a hang fails the test here
        check=False,
    )


def _stuck_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a run that gave up prints, after checking it ended as it must."""
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("flow ")]
    return line


async def test_run_once_ends_with_exit_1_when_the_destination_table_is_missing(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path
) -> None:
    """A destination table that was never created ends `run --once` with exit 1 and one line
    naming the table and the fix; the other flow to the same database delivers everything, and
    once the table exists the next run delivers the rest."""
    await _tables(pg, pg_schema)
    path = tmp_path / "syncwell.yaml"
    path.write_text(WORKSPACE.format(dsn=PG_DSN, schema=pg_schema))

    line = _stuck_line(await asyncio.to_thread(_run_once, path))

    assert line.startswith("flow contacts: cannot "), line
    assert f"core-db: table {pg_schema}.contacts does not exist" in line
    assert "create it or fix the flow's stream/target in syncwell.yaml" in line
    assert "Run again once that is fixed." in line
    assert await pg.fetchval(f"SELECT count(*) FROM {pg_schema}.deals_in") == 3
    waiting = (await _backlog(path)).get("contacts", 0)
    assert (f" {waiting} changes wait in the journal." in line) == (waiting > 0)

    await pg.execute(f"CREATE TABLE {pg_schema}.contacts (id int PRIMARY KEY, at int NOT NULL)")
    again = await asyncio.to_thread(_run_once, path)
    assert again.returncode == 0, again.stderr
    assert await pg.fetchval(f"SELECT count(*) FROM {pg_schema}.contacts") == 4


async def test_run_once_keeps_the_changes_of_a_dropped_table_in_the_journal(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path
) -> None:
    """A table dropped after the first sync: the writes fail, the breaker opens and its probes
    fail; `run --once` still ends within seconds, exit 1, the line counts the changes that wait
    in the journal, and the next run delivers them once the table is back."""
    path = await _synced_then_dropped(pg, pg_schema, tmp_path)

    line = _stuck_line(await asyncio.to_thread(_run_once, path))

    waiting = (await _backlog(path))["contacts"]
    assert waiting >= 2
    assert line.startswith(f"flow contacts: cannot write to core-db: table {pg_schema}.contacts")
    assert line.endswith(f"Run again once that is fixed. {waiting} changes wait in the journal.")

    await pg.execute(f"CREATE TABLE {pg_schema}.contacts (id int PRIMARY KEY, at int NOT NULL)")
    again = await asyncio.to_thread(_run_once, path)
    assert again.returncode == 0, again.stderr
    assert await pg.fetch(f"SELECT id, at FROM {pg_schema}.contacts ORDER BY id") == [
        (1, 101),
        (2, 102),
    ]
    assert "contacts" not in await _backlog(path)


async def test_a_continuous_run_keeps_probing_a_missing_table(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path
) -> None:
    """Without --once the same flow never gives up: well past the point where a one-off run
    would, it still runs behind its open breaker, probing, with an open incident."""
    path = await _synced_then_dropped(pg, pg_schema, tmp_path)
    workspace = load_workspace(path)
    engine = Engine(workspace, analyse_every_s=None, grace_s=1.0, measure_every_s=0.1)
    progress = engine.progress["contacts"]
    stop = asyncio.Event()
    running = asyncio.create_task(engine.run(stop=stop))
    store = await open_store(workspace.state)
    try:
        # 5 failures open the breaker; the 6th, 7th and 8th are failed probes: a one-off run
        # gives up by the 7th (its retries would wait 0.09 s; the probes come 0.2 s apart).
        await until(lambda: progress.failed_attempts >= 8, within_s=30)
        await until_true(lambda: _breaker_incident(store), within_s=20, every_s=0.1)
        assert not running.done() and not progress.gave_up and progress.stuck is None
    finally:
        stop.set()
        await running
        await store.close()


async def _breaker_incident(store: Store) -> bool:
    return any(i.cause == "breaker_open" for i in await store.incidents.list(open_only=True))


async def test_a_flow_that_keeps_being_handed_back_gives_up_with_the_fatal_reason(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path
) -> None:
    """With 2 attempts a delivery, the breaker (threshold 5) never opens: 2 hand-backs in a row
    end the flow, with the connector's own reason (through the engine API the CLI uses)."""
    path = await _synced_then_dropped(pg, pg_schema, tmp_path)
    text = path.read_text()
    path.write_text(text.replace("cap_s: 0.02}", "cap_s: 0.02, max_attempts: 2}"))
    engine = Engine(load_workspace(path), analyse_every_s=None)
    async with asyncio.timeout(60):
        await engine.run(once=True)
    progress = engine.progress["contacts"]
    assert progress.gave_up and progress.stuck is not None
    assert progress.stuck.stage == "write" and progress.stuck.system == "core-db"
    assert f"table {pg_schema}.contacts does not exist" in progress.stuck.reason
    assert progress.failed_attempts == 4
    assert progress.stuck.waiting >= 2
    assert not engine.progress["deals"].gave_up
