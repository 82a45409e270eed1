"""`syncwell cdc status` shows each CDC flow's slot and the WAL it keeps; `syncwell cdc drop`
removes the slot and syncwell's publication, so the source stops keeping WAL for it."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import asyncpg
from typer.testing import CliRunner

from syncwell.cli import app
from tests.cdc.cdckit import create_pair, run_once, write_workspace

runner = CliRunner()


async def _prepare(dsn: str, schema: str, folder: Path) -> Path:
    connection = await asyncpg.connect(dsn)
    try:
        await create_pair(connection, schema, 20)
        path = write_workspace(folder, dsn, schema)
        await run_once(path)
        await connection.execute(f"UPDATE {schema}.src SET v = v + 1")  # WAL the slot keeps
    finally:
        await connection.close()
    return path


async def _captures(dsn: str, schema: str) -> tuple[int, int]:
    connection = await asyncpg.connect(dsn)
    try:
        slots = await connection.fetchval(
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE '%' || $1 || '%'",
            schema,
        )
        publications = await connection.fetchval(
            "SELECT count(*) FROM pg_publication WHERE pubname LIKE '%' || $1 || '%'", schema
        )
    finally:
        await connection.close()
    return int(slots), int(publications)


def test_status_then_drop(cdc_dsn: str, cdc_schema: str, tmp_path: Path) -> None:
    """status names the slot, idle, keeping WAL; drop removes slot and publication; status
    then says there is none, and a second drop has nothing to do."""
    path = asyncio.run(_prepare(cdc_dsn, cdc_schema, tmp_path))
    shown = runner.invoke(app, ["cdc", "status", "-w", str(path), "--json"])
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.output)["rows"]
    assert report["slot"] == f"syncwell_{cdc_schema}_rows"
    assert report["exists"] and not report["active"]
    assert report["retained_bytes"] > 0 and report["unconfirmed_bytes"] > 0
    table = runner.invoke(app, ["cdc", "status", "-w", str(path)], terminal_width=120)
    assert table.exit_code == 0 and "idle" in table.output
    assert re.search(r"\d (B|kB|MB) ", table.output)  # the WAL kept, in units people read
    refused = runner.invoke(app, ["cdc", "drop", "nope", "-w", str(path), "--yes"])
    assert refused.exit_code == 1 and "its CDC flows: rows" in refused.output
    dropped = runner.invoke(app, ["cdc", "drop", "rows", "-w", str(path), "--yes"])
    assert dropped.exit_code == 0 and "dropped replication slot" in dropped.output
    assert asyncio.run(_captures(cdc_dsn, cdc_schema)) == (0, 0)
    after = json.loads(runner.invoke(app, ["cdc", "status", "-w", str(path), "--json"]).output)
    assert after["rows"]["exists"] is False
    again = runner.invoke(app, ["cdc", "drop", "rows", "-w", str(path), "--yes"])
    assert again.exit_code == 0 and "nothing to drop" in again.output
