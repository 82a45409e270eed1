"""Postgres -> Postgres flows through the whole engine, against the machine's PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest

from syncwell.connectors.postgres import PostgresSource
from syncwell.engine import Engine, admin
from syncwell.workspace import load_workspace
from tests.conftest import PG_DSN
from tests.pgdata import checksum, contacts_pair, create_contacts, fill_contacts, write_workspace


async def _sync(path: Path) -> Engine:
    engine = Engine(load_workspace(path))
    await engine.run(once=True)
    return engine


async def test_first_and_incremental_sync_make_destination_equal(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path
) -> None:
    """A full read, then an incremental one after updates and inserts, leaves equal tables."""
    await contacts_pair(pg, pg_schema, 5000)
    path = write_workspace(tmp_path, pg_schema)
    await _sync(path)
    assert await checksum(pg, pg_schema, "dst") == await checksum(pg, pg_schema, "src")
    await pg.execute(
        f"UPDATE {pg_schema}.src SET stage = 'won', updated_at = now() WHERE id % 10 = 0"
    )
    await fill_contacts(pg, pg_schema, "src", 100, start=5001)
    engine = await _sync(path)
    assert await checksum(pg, pg_schema, "dst") == await checksum(pg, pg_schema, "src")
    assert engine.progress["contacts"].read < 5000, "the second read was incremental"


async def _late_commit_scenario(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path, lookback: str
) -> set[int]:
    """Commit row 900 after row 901 was synced, with an older cursor; return the ids >= 900."""
    await contacts_pair(pg, pg_schema, 100)
    path = write_workspace(tmp_path, pg_schema)
    path.write_text(path.read_text().replace("lookback: 5m", f"lookback: {lookback}"))
    await _sync(path)
    late = await asyncpg.connect(PG_DSN)
    try:
        transaction = late.transaction()
        await transaction.start()
        # now() is the transaction's start: this row's cursor is older than the next one's.
        await late.execute(
            f"INSERT INTO {pg_schema}.src VALUES (900, 'late@x.com', 'Late', 'lead', 1, "
            "'{}', '{}', now())"
        )
        await pg.execute(
            f"INSERT INTO {pg_schema}.src VALUES (901, 'early@x.com', 'Early', 'lead', 1, "
            "'{}', '{}', now() + interval '1 second')"
        )
        await _sync(path)  # reads 901, moves the cursor past 900's timestamp
        await transaction.commit()
    finally:
        await late.close()
    await _sync(path)
    return {row[0] for row in await pg.fetch(f"SELECT id FROM {pg_schema}.dst WHERE id >= 900")}


async def test_late_commit_with_older_cursor_is_delivered(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path
) -> None:
    """A row committed after newer rows were read, carrying an older updated_at, still arrives."""
    assert await _late_commit_scenario(pg, pg_schema, tmp_path, "5m") == {900, 901}
    assert await checksum(pg, pg_schema, "dst") == await checksum(pg, pg_schema, "src")


async def test_late_commit_is_missed_without_lookback(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path
) -> None:
    """The control: with no look-back window the late row is lost, so the test above can fail."""
    assert await _late_commit_scenario(pg, pg_schema, tmp_path, "0s") == {901}


async def test_rejected_rows_are_dead_lettered_and_replayed_after_the_fix(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path
) -> None:
    """Rows the destination refuses go to the dead letters with the reason; replay delivers them."""
    await create_contacts(pg, pg_schema, "src")
    await create_contacts(pg, pg_schema, "dst", email_required=True)
    await fill_contacts(pg, pg_schema, "src", 3000)
    bad = {17, 1500, 2999}
    await pg.execute(
        f"UPDATE {pg_schema}.src SET email = NULL WHERE id = ANY($1::bigint[])", list(bad)
    )
    path = write_workspace(tmp_path, pg_schema)
    engine = await _sync(path)
    workspace = load_workspace(path)
    letters = await admin.list_dead_letters(workspace, flow="contacts", status="open", limit=10)
    assert {int(letter.key) for letter in letters} == bad
    assert all("email" in letter.reason and "not-null" in letter.reason for letter in letters)
    assert engine.progress["contacts"].written >= 3000 - len(bad)
    delivered = {row[0] for row in await pg.fetch(f"SELECT id FROM {pg_schema}.dst")}
    assert delivered == set(range(1, 3001)) - bad
    await pg.execute(f"ALTER TABLE {pg_schema}.dst ALTER COLUMN email DROP NOT NULL")  # the fix
    assert sorted(await admin.replay(workspace, [letter.id for letter in letters])) == sorted(
        letter.id for letter in letters
    )
    await _sync(path)
    assert await checksum(pg, pg_schema, "dst") == await checksum(pg, pg_schema, "src")
    assert await admin.list_dead_letters(workspace, flow=None, status="open", limit=10) == []


async def test_a_commit_landing_between_the_last_page_and_the_window_digest_is_not_lost(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A late row committed while a read ends is read next time (the read is one snapshot)."""
    await contacts_pair(pg, pg_schema, 50)
    path = write_workspace(tmp_path, pg_schema)
    await _sync(path)
    original = PostgresSource._window
    calls: list[int] = []

    async def commit_late_row_first(self: PostgresSource, *args: Any) -> str:
        calls.append(1)
        if len(calls) == 2:  # the digest taken at the end of the read, after the last page
            await pg.execute(
                f"INSERT INTO {pg_schema}.src SELECT 999, 'late@x.com', 'Late', 'lead', 1, "
                f"'{{}}', '{{}}', max(updated_at) - interval '1 second' FROM {pg_schema}.src"
            )
        return await original(self, *args)

    monkeypatch.setattr(PostgresSource, "_window", commit_late_row_first)
    await pg.execute(f"UPDATE {pg_schema}.src SET score = 7, updated_at = now() WHERE id = 3")
    await _sync(path)
    monkeypatch.undo()
    assert len(calls) >= 2
    await _sync(path)
    assert await checksum(pg, pg_schema, "dst") == await checksum(pg, pg_schema, "src")
