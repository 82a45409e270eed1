"""A destination whose connections drop and whose statements time out still gets everything."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import func, select

from syncwell.engine import Engine
from syncwell.store import open_store
from syncwell.store.schema import deliveries
from syncwell.workspace import load_workspace
from tests.conftest import PG_DSN
from tests.faults import FlakyProxy
from tests.pgdata import checksum, contacts_pair, write_workspace

# Fast retries and a breaker that recovers quickly, so the test takes seconds.
POLICIES = """    retry: {base_s: 0.01, cap_s: 0.2, max_attempts: 4}
    breaker: {failure_threshold: 50, open_s: 0.2, max_open_s: 1}
    statement_timeout_s: 0.3
"""


@pytest.mark.timeout(300)
async def test_dropped_connections_and_timeouts_deliver_everything_and_count_retries(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path
) -> None:
    """With 2% of chunks cut and 25% of merges slowed past the timeout, all rows arrive."""
    await contacts_pair(pg, pg_schema, 20_000)
    # A statement-level trigger that sometimes sleeps past the destination's statement timeout.
    await pg.execute(
        f"""
        CREATE FUNCTION {pg_schema}.slow() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF random() < 0.25 THEN PERFORM pg_sleep(0.5); END IF; RETURN NULL; END $$;
        CREATE TRIGGER slow AFTER INSERT ON {pg_schema}.dst
        FOR EACH STATEMENT EXECUTE FUNCTION {pg_schema}.slow();
        """
    )
    async with FlakyProxy(5432, drop_rate=0.02) as proxy:
        dest_dsn = PG_DSN.replace(":5432", f":{proxy.port}")
        path = write_workspace(tmp_path, pg_schema, dest_dsn=dest_dsn, dest_extra=POLICIES)
        engine = Engine(load_workspace(path))
        await engine.run(once=True)
        assert proxy.drops > 0, "the proxy must really cut connections"
    assert await checksum(pg, pg_schema, "dst") == await checksum(pg, pg_schema, "src")
    progress = engine.progress["contacts"]
    assert progress.retries > 0 and progress.failed_attempts > 0
    store = await open_store(load_workspace(path).state)
    try:
        async with store.engine.connect() as connection:
            recorded = await connection.scalar(
                select(func.sum(deliveries.c.retries_transient + deliveries.c.retries_rate_limited))
            )
    finally:
        await store.close()
    assert recorded is not None and recorded > 0, "retries are written with each delivery"
