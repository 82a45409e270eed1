"""How a read of the replication stream gathers transactions into one batch."""

from __future__ import annotations

import asyncio

import asyncpg

from syncwell.connectors.postgres import pgoutput
from syncwell.connectors.postgres.cdc.replication import Replication


async def test_a_read_gathers_transactions_that_commit_moments_apart(
    cdc_dsn: str, cdc_schema: str
) -> None:
    """Two transactions committed 20 ms apart arrive in one read, not one read each (a read
    ended at the first 5 ms of quiet, so every transaction of a steady trickle cost the
    engine a round of typing, journal commit, confirmation and delivery of its own)."""
    connection = await asyncpg.connect(cdc_dsn)
    replication = Replication(cdc_dsn, "core", 5)
    try:
        await connection.execute(f"CREATE TABLE {cdc_schema}.t (id bigint PRIMARY KEY)")
        await connection.execute(f"CREATE PUBLICATION {cdc_schema}_pub FOR TABLE {cdc_schema}.t")
        await replication.connect()
        created = await replication.create_slot(f"{cdc_schema}_slot")
        await replication.start(f"{cdc_schema}_slot", f"{cdc_schema}_pub", created.consistent_point)
        reading = asyncio.create_task(replication.receive(5.0, 1000))
        await asyncio.sleep(0.2)  # the read is waiting
        await connection.execute(f"INSERT INTO {cdc_schema}.t VALUES (1)")
        await asyncio.sleep(0.02)
        await connection.execute(f"INSERT INTO {cdc_schema}.t VALUES (2)")
        received = await reading
    finally:
        await connection.close()
        await replication.aclose()
    commits = [item for item in received if isinstance(item.message, pgoutput.Commit)]
    assert len(commits) == 2, f"one read brought {len(commits)} of the 2 transactions"
    assert isinstance(received[-1].message, pgoutput.Commit)
