"""Fixtures of the CDC tests: a PostgreSQL with wal_level=logical, a schema in it per test,
and no replication slot left behind (an abandoned slot keeps WAL forever)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from tests.cdc.logical_pg import logical_postgres


@pytest.fixture(scope="session")
def cdc_dsn() -> Iterator[str]:
    """The DSN of a PostgreSQL with wal_level=logical (tests/cdc/logical_pg.py says which).

    Skips when none can be had, except in CI (CI=true), where `.ci/run` turns wal_level to
    logical on the machine's server, so a missing one is a failure, never a silent skip.
    """
    try:
        with logical_postgres() as dsn:
            yield dsn
    except (OSError, RuntimeError) as error:  # no initdb, no postgres user, no port
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI has no PostgreSQL with wal_level=logical: {error}")
        pytest.skip(f"no PostgreSQL with wal_level=logical here, and none could start: {error}")


@pytest.fixture
async def cdc_schema(cdc_dsn: str) -> AsyncIterator[str]:
    """A fresh schema; dropped after the test with the slots and publications made in it."""
    name = f"c_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(cdc_dsn)
    await connection.execute(f"CREATE SCHEMA {name}")
    try:
        yield name
    finally:
        await drop_captures(connection, name)
        await connection.execute(f"DROP SCHEMA {name} CASCADE")
        await connection.close()


async def drop_captures(connection: asyncpg.Connection, marker: str) -> None:
    """Drop the slots and publications whose names hold `marker` (the test's workspace)."""
    for (slot,) in await connection.fetch(
        "SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE '%' || $1 || '%'",
        marker,
    ):
        await connection.execute(
            "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
            "WHERE slot_name = $1 AND active_pid IS NOT NULL",
            slot,
        )
        for _ in range(50):
            try:
                await connection.execute("SELECT pg_drop_replication_slot($1)", slot)
                break
            except asyncpg.ObjectInUseError:  # its walsender is still ending
                await asyncio.sleep(0.1)
    for (publication,) in await connection.fetch(
        "SELECT pubname FROM pg_publication WHERE pubname LIKE '%' || $1 || '%'", marker
    ):
        await connection.execute(f'DROP PUBLICATION "{publication}"')
