"""A first sync over data that already exists on both sides: compared, or written whole.

Two PostgreSQL tables hold the same N CRM-like contacts, 1% of them changed in the
destination. `syncwell run --once` of a new flow between them is timed three ways, each in
its own process: `compare` (the first sync lists the destination and writes only what
differs: engine/firstsync.py), `write-all` (the comparison switched off: every record is
written, as before it existed) and `plan` (`syncwell plan`: the comparison alone, counted,
nothing written). Memory is the process's peak RSS.

Run: ``.venv/bin/python bench/first_sync.py [--rows 100000] [--variant compare|write-all|plan]
[--state sqlite|postgres]``. Without --variant it runs all three and prints one JSON line
each. Needs the machine's PostgreSQL (database test).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from syncwell import Engine, load_workspace
from syncwell.engine import firstsync
from syncwell.engine.plan import plan_workspace

DSN = "postgresql://postgres@127.0.0.1:5432/test"
TABLE = """
CREATE TABLE {schema}.{table} (
    id bigint PRIMARY KEY, email text, name text, stage text, score integer, tags text[],
    properties jsonb, updated_at timestamptz NOT NULL
)
"""
FILL = """
INSERT INTO {schema}.contacts
SELECT g, 'user' || g || '@example.com', 'Name ' || g, (ARRAY['lead','customer'])[1 + g % 2],
       g % 100, ARRAY['t' || g % 7, 'x'], jsonb_build_object('plan', 'p' || g % 5, 'seats', g % 40),
       now() - interval '30 days' + g * interval '1 second'
FROM generate_series(1, $1::bigint) g
"""
WORKSPACE = """
state: {state}
systems:
  core: {{kind: postgres, dsn: "{dsn}", schema: {schema}}}
  replica: {{kind: postgres, dsn: "{dsn}", schema: {schema}}}
flows:
  contacts:
    source: core
    destination: replica
    stream: contacts
    target: contacts_copy
    key: id
    cursor: updated_at
    deletes: {{detect: none}}
"""


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _prepare(connection: asyncpg.Connection, schema: str, rows: int) -> None:
    await connection.execute(f"CREATE SCHEMA {schema}")
    for table in ("contacts", "contacts_copy"):
        await connection.execute(TABLE.format(schema=schema, table=table))
    await connection.execute(FILL.format(schema=schema), rows)
    await connection.execute(f"INSERT INTO {schema}.contacts_copy SELECT * FROM {schema}.contacts")
    await connection.execute(f"UPDATE {schema}.contacts_copy SET stage = 'lost' WHERE id % 100 = 0")
    await connection.execute(f"ANALYZE {schema}.contacts")


async def _one(variant: str, rows: int, state_kind: str) -> dict[str, object]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(DSN)
    try:
        await _prepare(connection, schema, rows)
        with tempfile.TemporaryDirectory() as folder:
            state = f"sqlite:///{folder}/state.db"
            if state_kind == "postgres":
                state = f"postgresql://postgres@127.0.0.1:5432/{schema}"
                await connection.execute(f"CREATE DATABASE {schema}")
            path = Path(folder) / "syncwell.yaml"
            path.write_text(WORKSPACE.format(state=state, dsn=DSN, schema=schema))
            if variant == "write-all":

                async def never(self: object, checkpoint: object) -> None:
                    return None

                firstsync.FirstSync.begin = never  # type: ignore[method-assign,assignment]
            before, started = _rss_mb(), time.perf_counter()
            if variant == "plan":
                (found,) = await plan_workspace(load_workspace(path))
                result: dict[str, object] = {
                    "updates": found.updates, "unchanged": found.unchanged,
                }  # fmt: skip
            else:
                engine = Engine(load_workspace(path), analyse_every_s=None)
                await engine.run(once=True)
                progress = engine.progress["contacts"]
                result = {"written": progress.written, "matched": progress.matched}
            took = time.perf_counter() - started
            if state_kind == "postgres":
                await connection.execute(f"DROP DATABASE {schema} WITH (FORCE)")
    finally:
        await connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await connection.close()
    return {
        "variant": variant, "rows": rows, "state": state_kind, "seconds": round(took, 2),
        "rows_per_s": round(rows / took), "rss_growth_mb": round(_rss_mb() - before, 1),
        **result,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--variant", choices=("compare", "write-all", "plan"))
    parser.add_argument("--state", choices=("sqlite", "postgres"), default="sqlite")
    options = parser.parse_args()
    if options.variant is not None:
        print(json.dumps(asyncio.run(_one(options.variant, options.rows, options.state))))
        return
    for variant in ("compare", "write-all", "plan"):  # each in a process of its own: its RSS
        command = [sys.executable, __file__, "--rows", str(options.rows), "--variant", variant]
        subprocess.run([*command, "--state", options.state], check=True)


if __name__ == "__main__":
    main()
