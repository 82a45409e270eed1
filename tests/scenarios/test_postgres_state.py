"""The same guarantees with the state store on PostgreSQL (`state: postgresql://...`)."""

from __future__ import annotations

import random
from pathlib import Path

import asyncpg
import pytest

import syncwell.store
from syncwell.engine import Engine, admin
from syncwell.workspace import load_workspace
from tests.pgdata import checksum, contacts_pair, create_contacts, fill_contacts, write_workspace
from tests.scenarios.test_crash import _finish, _kill_while_delivering, _start


def _with_state(path: Path, state_url: str) -> Path:
    path.write_text(f"state: {state_url}\n" + path.read_text())
    return path


async def test_a_postgres_state_store_is_migrated_and_keeps_dead_letters(
    pg: asyncpg.Connection, pg_schema: str, pg_state_url: str, tmp_path: Path
) -> None:
    """Migrations run on PostgreSQL; a sync with a refused row works as on SQLite."""
    await create_contacts(pg, pg_schema, "src")
    await create_contacts(pg, pg_schema, "dst", email_required=True)
    await fill_contacts(pg, pg_schema, "src", 2000)
    await pg.execute(f"UPDATE {pg_schema}.src SET email = NULL WHERE id = 42")
    path = _with_state(write_workspace(tmp_path, pg_schema), pg_state_url)
    workspace = load_workspace(path)
    await Engine(workspace).run(once=True)
    (letter,) = await admin.list_dead_letters(workspace, flow=None, status="open", limit=5)
    assert letter.key == "42"
    (report,) = await admin.flow_reports(workspace)
    assert report.written >= 1999 and report.backlog == 0 and report.dead_letters == 1
    state = await asyncpg.connect(pg_state_url)
    try:
        assert await state.fetchval("SELECT version_num FROM alembic_version") == _head()
    finally:
        await state.close()


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_kill_9_with_a_postgres_state_store_loses_nothing(
    pg: asyncpg.Connection, pg_schema: str, pg_state_url: str, tmp_path: Path
) -> None:
    """Five kill -9 mid-delivery with state in PostgreSQL (edits between); the copy ends equal."""
    rng = random.Random(7)
    await contacts_pair(pg, pg_schema, 100_000)
    path = _with_state(write_workspace(tmp_path, pg_schema), pg_state_url)
    state = await asyncpg.connect(pg_state_url)

    async def deliveries() -> int:
        try:
            return int(await state.fetchval("SELECT count(*) FROM deliveries"))
        except asyncpg.UndefinedTableError:  # not migrated yet
            return 0

    killed = 0
    try:
        for round_ in range(5):
            process = await _start(path, "--once")
            killed += await _kill_while_delivering(deliveries, process, rng)
            await process.wait()
            await pg.execute(
                f"UPDATE {pg_schema}.src SET score = score + 1, updated_at = now() "
                "WHERE id % 10 = $1",
                round_,
            )
    finally:
        await state.close()
    assert killed >= 4, "the kills must land while the engine delivers"
    await _finish(path)
    assert await checksum(pg, pg_schema, "dst") == await checksum(pg, pg_schema, "src")


def _head() -> str:
    """The newest migration's revision: the store must be at it after `open_store`."""
    versions = Path(syncwell.store.__file__).parent / "migrations" / "versions"
    return max(path.name.split("_")[0] for path in versions.glob("[0-9]*_*.py"))
