"""COPY-text batches (PostgreSQL to PostgreSQL) keep the newest change per key in SQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from syncwell.connectors import postgres
from syncwell.engine.coalesce import coalesce
from syncwell.types import ChangeBatch, Op, StreamSpec
from tests.conftest import PG_DSN

SPEC = StreamSpec("t", ("id",), ("id", "name", "v"), version="v")


@pytest.fixture
async def destination(
    pg: asyncpg.Connection, pg_schema: str
) -> AsyncIterator[postgres.PostgresDestination]:
    """A table t(id, name, v) and a destination writing to it."""
    await pg.execute(f"CREATE TABLE {pg_schema}.t (id int PRIMARY KEY, name text, v int)")
    opened = await postgres.open_destination(
        "core", postgres.Settings(kind="postgres", dsn=PG_DSN, schema=pg_schema)
    )
    try:
        yield opened
    finally:
        await opened.aclose()


def page(*lines: str) -> ChangeBatch:
    return ChangeBatch(SPEC.columns, (), None, 0.0, "".join(f"{line}\n" for line in lines).encode())


async def test_joined_pages_keep_the_newest_version_of_each_key(
    pg: asyncpg.Connection, pg_schema: str, destination: postgres.PostgresDestination
) -> None:
    """Two pages with the same keys, the older version arriving last: the newer one stays."""
    joined = coalesce(
        [page("1\tnew\t5", "2\tb\t1"), page("1\told\t3", "2\tb2\t2", "3\tc\\tab\t1")],
        SPEC.key,
        SPEC.version,
    )
    assert joined.keys_repeat
    await destination.write(SPEC, joined)
    await destination.write(SPEC, page("1\tolder\t4"))  # a single page: the plain merge
    rows = await pg.fetch(f"SELECT id, name, v FROM {pg_schema}.t ORDER BY id")
    assert [tuple(row) for row in rows] == [(1, "new", 5), (2, "b2", 2), (3, "c\tab", 1)]


async def test_straight_copy_into_a_new_range_then_guarded_merge_on_conflict(
    pg: asyncpg.Connection, pg_schema: str, destination: postgres.PostgresDestination
) -> None:
    """New keys go straight in; a page meeting existing keys falls back to the version guard."""
    await destination.write(SPEC, page("1\ta\t5", "2\tb\t5"))  # empty target: straight in
    await destination.write(SPEC, page("2\tstale\t1", "3\tc\t1"))  # conflict: guarded merge
    await destination.write(SPEC, page("4\td\t1"))  # still paused: merge, same outcome
    rows = await pg.fetch(f"SELECT id, name, v FROM {pg_schema}.t ORDER BY id")
    assert [tuple(row) for row in rows] == [(1, "a", 5), (2, "b", 5), (3, "c", 1), (4, "d", 1)]


async def test_tables_with_row_security_are_written_through_the_merge(
    pg: asyncpg.Connection, pg_schema: str, destination: postgres.PostgresDestination
) -> None:
    """COPY refuses tables under forced row-level security; the merge writes them instead."""
    await pg.execute(
        f"ALTER TABLE {pg_schema}.t ENABLE ROW LEVEL SECURITY;"
        f"ALTER TABLE {pg_schema}.t FORCE ROW LEVEL SECURITY;"
        f"CREATE POLICY everyone ON {pg_schema}.t USING (true) WITH CHECK (true)"
    )
    await destination.write(SPEC, page("1\ta\t1"))
    assert await pg.fetchval(f"SELECT name FROM {pg_schema}.t WHERE id = 1") == "a"


async def test_a_tombstone_is_not_dodged_by_an_older_change_in_a_joined_batch(
    pg: asyncpg.Connection, pg_schema: str, destination: postgres.PostgresDestination
) -> None:
    """Deleted at version 5: neither version 3 nor a NULL version of the key comes back."""
    await destination.write(SPEC, ChangeBatch(SPEC.columns, [(1, "gone", 5)], [Op.DELETE]))
    joined = coalesce([page("1\tv3\t3"), page("1\tnull-version\t\\N")], SPEC.key, SPEC.version)
    await destination.write(SPEC, joined)
    assert await pg.fetchval(f"SELECT count(*) FROM {pg_schema}.t") == 0
