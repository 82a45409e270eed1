"""A key scan's rate and memory, side by side with the plain listing of the same keys.

A PostgreSQL table of N keys is scanned the way `deletes: {detect: scan}` does it: the
source's `keys()` pages in one snapshot, each page marked in the key ledger of the state
store, then the pass finished (a few keys deleted first, so it journals their deletes). The
reference is `psql -c "\\copy (SELECT id FROM t ORDER BY id) TO /dev/null"`: the keys read
and thrown away, the floor of any listing. The ratio is reference over scan (1.0 would be a
scan as fast as reading the keys). Memory is the process's peak RSS growth during the scan,
which must stay flat in N (pages, not a set of keys).

Run: ``.venv/bin/python bench/key_scan.py [--keys 1000000] [--state sqlite|postgres] [--json]``.
Needs the machine's PostgreSQL (database test).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from syncwell.connectors import postgres
from syncwell.engine.keyscan import scan_keys
from syncwell.engine.ledger import FlowLedger
from syncwell.store import open_store
from syncwell.types import SystemClock
from syncwell.workspace import DeleteDetection, Flow

DSN = "postgresql://postgres@127.0.0.1:5432/test"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _scan(schema: str, state: str, keys: int, gone: int) -> dict[str, float]:
    flow = Flow(
        name="t",
        source="pg",
        destination="core",
        stream="t",
        target="t",
        key=("id",),
        cursor="at",
        deletes=DeleteDetection(every=0, max_share=1.0),
    )
    settings = postgres.Settings(kind="postgres", dsn=DSN, schema=schema)
    source = await postgres.open_source("pg", settings)
    store = await open_store(state)
    connection = await asyncpg.connect(DSN)
    try:
        ledger = FlowLedger(flow, store.source_keys, SystemClock())
        stream = flow.source_spec()
        stop = asyncio.Event()
        first = time.perf_counter()
        await scan_keys(ledger, source, stream, store.journal, stop)  # seeds the ledger
        seeded = time.perf_counter() - first
        await connection.execute(f"DELETE FROM {schema}.t WHERE id % {keys // gone} = 0")
        rss_before = _rss_mb()
        started = time.perf_counter()
        report = await scan_keys(ledger, source, stream, store.journal, stop)
        seconds = time.perf_counter() - started
        assert report is not None
    finally:
        await connection.close()
        await store.close()
        await source.aclose()
    return {
        "seed_s": seeded,
        "scan_s": seconds,
        "listed": report.listed,
        "deleted": report.outcome.deleted,
        "keys_per_s": report.listed / seconds,
        "rss_growth_mb": _rss_mb() - rss_before,
    }


def _reference(schema: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc",
         f"\\copy (SELECT id FROM {schema}.t ORDER BY id) TO '/dev/null'"],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - started


async def _main(keys: int, state_kind: str) -> dict[str, object]:
    schema = f"bench_scan_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(DSN)
    await connection.execute(f"CREATE SCHEMA {schema}")
    await connection.execute(f"CREATE TABLE {schema}.t (id bigint PRIMARY KEY, at timestamptz)")
    await connection.execute(
        f"INSERT INTO {schema}.t SELECT i, now() FROM generate_series(1, {keys}) i"
    )
    await connection.execute(f"ANALYZE {schema}.t")
    state_db = f"bench_state_{uuid.uuid4().hex[:8]}"
    try:
        with tempfile.TemporaryDirectory() as folder:
            if state_kind == "postgres":
                await connection.execute(f"CREATE DATABASE {state_db}")
                state = f"postgresql://postgres@127.0.0.1:5432/{state_db}"
            else:
                state = f"sqlite:///{Path(folder) / 'state.db'}"
            reference = _reference(schema)
            scan = await _scan(schema, state, keys, gone=100)
    finally:
        await connection.execute(f"DROP SCHEMA {schema} CASCADE")
        if state_kind == "postgres":
            await connection.execute(f"DROP DATABASE IF EXISTS {state_db}")
        await connection.close()
    return {
        "keys": keys,
        "state": state_kind,
        "reference_s": reference,
        **scan,
        "ratio": reference / float(scan["scan_s"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=1_000_000, help="keys in the table (1M)")
    parser.add_argument("--state", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    result = asyncio.run(_main(args.keys, args.state))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{result['keys']:,} keys, state on {result['state']}: scan {result['scan_s']:.2f} s "
        f"({result['keys_per_s']:,.0f} keys/s, {result['deleted']:,} deleted), "
        f"reference \\copy {result['reference_s']:.2f} s, ratio {result['ratio']:.2f}x; "
        f"first scan (seeding the ledger) {result['seed_s']:.2f} s; "
        f"peak RSS growth {result['rss_growth_mb']:.1f} MB"
    )


if __name__ == "__main__":
    main()
