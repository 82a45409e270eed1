"""A table added to a workspace that already streams another: the new flow takes a snapshot
of its own in a slot of its own, while the flow that was there goes on from its position
without reading its table again (issue 16 point 2)."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from tests.cdc.cdckit import TABLE, create_pair, run_once, table_state, write_workspace

MORE = """
  more:
    source: core
    destination: copy
    stream: src2
    target: dst2
    key: id
    version: v
    mode: cdc
    batch_size: 500
"""


async def test_a_flow_added_later_takes_its_own_snapshot_and_the_first_reads_on(
    cdc_dsn: str, cdc_schema: str, tmp_path: Path
) -> None:
    """After a first run of `rows`, two rows of `src` change and the workspace gains `more`
    over `src2`: the next run copies `src2` whole and brings `rows` its 2 changes alone, each
    flow through its own slot."""
    connection = await asyncpg.connect(cdc_dsn)
    try:
        await create_pair(connection, cdc_schema, 1500)
        for table in ("src2", "dst2"):
            await connection.execute(TABLE.format(schema=cdc_schema, table=table))
        await connection.execute(
            f"ALTER TABLE {cdc_schema}.src2 REPLICA IDENTITY FULL; "
            f"INSERT INTO {cdc_schema}.src2 (id, name, amount) "
            f"SELECT g, 'more ' || g, g FROM generate_series(1, 700) g"
        )
        path = write_workspace(tmp_path, cdc_dsn, cdc_schema)
        first = await run_once(path)
        assert first.progress["rows"].read == 1500
        await connection.execute(
            f"UPDATE {cdc_schema}.src SET name = 'changed', v = v + 1 WHERE id IN (3, 4)"
        )
        path = write_workspace(tmp_path, cdc_dsn, cdc_schema, extra=MORE)
        second = await run_once(path)
        assert second.progress["rows"].read == 2  # its changes, not its table again
        assert second.progress["more"].read == 700
        for source, copy in (("src", "dst"), ("src2", "dst2")):
            expected = await table_state(connection, cdc_schema, source)
            assert await table_state(connection, cdc_schema, copy) == expected, copy
        slots = await connection.fetch(
            "SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE '%' || $1 || '%'",
            cdc_schema,
        )
        assert len(slots) == 2
    finally:
        await connection.close()
