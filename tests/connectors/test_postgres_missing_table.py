"""A PostgreSQL table that is missing is a configuration problem the error names, with the fix."""

from __future__ import annotations

import asyncpg
import pytest

from syncwell.connectors import postgres
from syncwell.errors import IntegrationFatalError
from syncwell.types import ChangeBatch, StreamSpec
from tests.conftest import PG_DSN

SPEC = StreamSpec("t", ("id",), ("id", "v"), version="v")


async def test_a_table_missing_at_the_first_write_names_it_and_the_fix(pg_schema: str) -> None:
    """No table: IntegrationFatalError (never retried as transient) naming it and the fix."""
    settings = postgres.Settings(kind="postgres", dsn=PG_DSN, schema=pg_schema)
    destination = await postgres.open_destination("core", settings)
    try:
        with pytest.raises(IntegrationFatalError) as caught:
            await destination.write(SPEC, ChangeBatch(SPEC.columns, [(1, 1)]))
    finally:
        await destination.aclose()
    assert caught.value.system == "core"
    assert f"table {pg_schema}.t does not exist" in caught.value.message
    assert "create it or fix the flow's stream/target in syncwell.yaml" in caught.value.message


async def test_a_table_dropped_while_the_flow_runs_names_it_and_the_fix(
    pg: asyncpg.Connection, pg_schema: str
) -> None:
    """Dropped after the first write: the next write's UndefinedTable (42P01) is fatal too, and
    says what to do rather than only what PostgreSQL said."""
    await pg.execute(f"CREATE TABLE {pg_schema}.t (id int PRIMARY KEY, v int)")
    settings = postgres.Settings(kind="postgres", dsn=PG_DSN, schema=pg_schema)
    destination = await postgres.open_destination("core", settings)
    try:
        await destination.write(SPEC, ChangeBatch(SPEC.columns, [(1, 1)]))
        await pg.execute(f"DROP TABLE {pg_schema}.t")
        with pytest.raises(IntegrationFatalError) as caught:
            await destination.write(SPEC, ChangeBatch(SPEC.columns, [(1, 2)]))
    finally:
        await destination.aclose()
    assert "42P01" in caught.value.message and f'"{pg_schema}.t"' in caught.value.message
    assert caught.value.message.endswith(
        "; create it or fix the flow's stream/target in syncwell.yaml"
    )
