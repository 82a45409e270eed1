"""Migrations: opening one SQLite state store from several places at once migrates it once,
safely, and a migrated store has every table and column the code expects."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
import time
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, inspect

from syncwell.errors import StoreError
from syncwell.store import migrations, open_store
from syncwell.store.database import connect, migrate
from syncwell.store.schema import metadata
from tests.conftest import fresh_state_database
from tests.scenarios.runs import SYNCWELL


async def test_stores_opened_at_the_same_moment_all_come_up(tmp_path: Path) -> None:
    """Four opens race on a new file (a run starting while `status` looks): none fails."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    stores = await asyncio.gather(*(open_store(url) for _ in range(4)))
    for store in stores:
        assert await store.journal.backlog() == {}
        await store.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_the_migrations_build_the_tables_the_code_expects(
    backend: str, tmp_path: Path
) -> None:
    """Every table and column in store/schema.py exists after migrating a new store, on both
    backends: a column added to the schema but not to a migration fails here, not in a run."""
    async with AsyncExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path / 'state.db'}"
        else:
            url = await stack.enter_async_context(fresh_state_database())
        store = await open_store(url)
        stack.push_async_callback(store.close)
        async with store.engine.connect() as connection:
            found = await connection.run_sync(
                lambda sync: {
                    table: {c["name"] for c in inspect(sync).get_columns(table)}
                    for table in inspect(sync).get_table_names()
                }
            )
    for table in metadata.sorted_tables:
        assert table.name in found, table.name
        assert {c.name for c in table.columns} == found[table.name], table.name


async def test_minutes_measured_before_the_analysis_columns_survive_the_upgrade(
    tmp_path: Path,
) -> None:
    """A store at revision 0004 with a minute in it upgrades to the newest: the minute keeps
    its numbers and the new counters read 0."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
        connection.exec_driver_sql(
            "INSERT INTO measurements VALUES ('f', 60, 5, 4, 1, 1, 0, 0, 0, 1, 0.0, 12.0, "
            "'0,1', 2.0, 2.0, 0, 0.0, NULL, 0)"
        )
    engine.dispose()
    store = await open_store(url)
    try:
        (row,) = await store.measurements.read(since=0)
    finally:
        await store.close()
    assert (row["changes_in"], row["changes_out"], row["latency_sum_ms"]) == (5, 4, 12.0)
    assert (row["retries_timeout"], row["late"], row["requests"]) == (0, 0, 0)


async def test_a_first_migration_cut_short_leaves_no_half_built_store(tmp_path: Path) -> None:
    """The first migration of a new SQLite store fails after its first tables (as a kill -9
    mid-way would stop it): nothing it did stays, and the next open builds the store. Before,
    SQLite's DDL committed table by table and every later open failed with `table journal
    already exists`."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    engine = connect(url)
    created: list[str] = []

    def cut_short(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("CREATE TABLE"):
            created.append(statement)
            if len(created) == 3:
                raise OSError("cut short, as by a kill -9")

    event.listen(engine.sync_engine, "before_cursor_execute", cut_short)
    with pytest.raises(StoreError, match="cut short"):
        await migrate(engine)
    await engine.dispose()
    with sqlite3.connect(tmp_path / "state.db") as db:
        left = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert left == []
    store = await open_store(url)
    try:
        assert await store.journal.backlog() == {}
    finally:
        await store.close()


def test_kill_9_during_the_first_migration_never_ruins_the_store(tmp_path: Path) -> None:
    """`syncwell status` on a new SQLite state, killed with SIGKILL at moments spread over its
    first migration, five times: the next `status` always works (2 of 12 tries ruined the
    store before)."""
    workspace = tmp_path / "syncwell.yaml"
    workspace.write_text(
        "core: app\nstate: sqlite:///state/state.db\nsystems:\n"
        "  app: {kind: sqlite, path: app.db}\n  other: {kind: sqlite, path: other.db}\n"
        "flows:\n  f: {source: app, destination: other, stream: t, key: id}\n"
    )
    state = tmp_path / "state"
    for attempt in range(5):
        shutil.rmtree(state, ignore_errors=True)
        process = subprocess.Popen(
            [SYNCWELL, "status", "-w", str(workspace)],
            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not (state / "state.db").exists() and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(0.03 * attempt)
        process.kill()
        process.wait()
        after = subprocess.run(
            [SYNCWELL, "status", "-w", str(workspace)],
            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert "already exists" not in after.stderr, (attempt, after.stderr)
        assert after.returncode == 0, (attempt, after.stderr)
