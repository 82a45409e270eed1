"""One process against a distributed run (a reader and N workers through NATS JetStream), on
the same first sync: SQLite rows into a PostgreSQL table, side by side in one run.

The one-process run is `syncwell run --once`; the distributed one is `syncwell run` (reading
and relaying) with `--workers` `syncwell worker` processes, timed until the destination holds
every row. Both keep their state in PostgreSQL. The ratio is distributed over one process:
above 1 the workers pay for their hops (a publish, a fetch, an ack per partition batch).

Run: ``.venv/bin/python bench/distributed_sync.py [--rows 50000] [--workers 2] [--json]``.
With ``--rate-limit 2 --batch-size 200`` the destination allows 2 writes a second, the case
where each write's size is the throughput (issue 14: a distributed run wrote 25 rows per
request where one process wrote 200).
Needs the machine's PostgreSQL and a NATS server with JetStream (``syncwell dev`` runs one).
"""

from __future__ import annotations

import argparse
import json
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

DSN = "postgresql://postgres@127.0.0.1:5432/test"
SYNCWELL = Path(sys.executable).parent / "syncwell"

_SYSTEMS = """\
core: core
systems:
  core: {{kind: sqlite, path: {core}}}
  dest: {{kind: postgres, dsn: "{dsn}", schema: {schema}{limit}}}
flows:
  rows: {{source: core, destination: dest, stream: t, key: id, cursor: at, version: at,
         batch_size: {batch}}}
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000, help="rows to sync (50,000)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--partitions", type=int, default=8, help="partitions per flow (8)")
    parser.add_argument("--batch-size", type=int, default=5000, help="the flow's (5,000)")
    parser.add_argument(
        "--rate-limit", type=float, default=0, help="destination writes a second (0: none)"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        schema = f"bench_dist_{uuid.uuid4().hex[:8]}"
        _make_source(root / "core.db", args.rows)
        _sql(f"CREATE SCHEMA {schema}")
        _sql(f"CREATE TABLE {schema}.t (id bigint PRIMARY KEY, at text, v text)")
        try:
            single = _one_process(root, schema, args)
            _truncate(schema)
            spread = _distributed(root, schema, args)
        finally:
            _sql(f"DROP SCHEMA {schema} CASCADE")
    _report(args, single, spread)


def _make_source(path: Path, rows: int) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL, v TEXT)")
        db.executemany(
            "INSERT INTO t VALUES (?, ?, ?)",
            ((i, f"2026-01-01 {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}.{i:09d}",
              f"value {i}") for i in range(rows)),
        )  # fmt: skip


def _workspace(root: Path, schema: str, name: str, extra: str, args: argparse.Namespace) -> Path:
    path = root / f"{name}.yaml"
    limit = f", rate_limit: {{per_second: {args.rate_limit}}}" if args.rate_limit else ""
    systems = _SYSTEMS.format(
        core=root / "core.db", dsn=DSN, schema=schema, limit=limit, batch=args.batch_size
    )
    path.write_text(f"name: {name}\n{extra}" + systems)
    return path


def _state_database() -> str:
    name = f"bench_state_{uuid.uuid4().hex[:8]}"
    _sql(f"CREATE DATABASE {name}")
    return DSN.rsplit("/", 1)[0] + f"/{name}"


def _one_process(root: Path, schema: str, args: argparse.Namespace) -> float:
    rows = args.rows
    state = _state_database()
    workspace = _workspace(root, schema, "one", f"state: {state}\n", args)
    started = time.perf_counter()
    subprocess.run(
        [str(SYNCWELL), "run", "--once", "-w", str(workspace)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    elapsed = time.perf_counter() - started
    assert _count(schema) == rows
    return elapsed


def _distributed(root: Path, schema: str, args: argparse.Namespace) -> float:
    state = _state_database()
    name = f"bench-{uuid.uuid4().hex[:8]}"
    transport = f"transport: {{partitions: {args.partitions}}}\n"
    workspace = _workspace(root, schema, name, f"state: {state}\n{transport}", args)
    run = [str(SYNCWELL), "run", "--no-serve", "-w", str(workspace)]
    work = [str(SYNCWELL), "worker", "-w", str(workspace)]
    started = time.perf_counter()
    processes = [subprocess.Popen(run, stdout=subprocess.DEVNULL)]
    processes += [subprocess.Popen(work, stdout=subprocess.DEVNULL) for _ in range(args.workers)]
    try:
        while _count(schema) < args.rows:
            time.sleep(0.1)
        return time.perf_counter() - started
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)
        subprocess.run(  # the stream goes with the run
            [sys.executable, "-c", _DELETE_STREAM.format(name=name, partitions=args.partitions)],
            check=False,
        )


_DELETE_STREAM = """
import asyncio
from syncwell.transport import JetStreamSettings, JetStreamTransport
async def main():
    t = await JetStreamTransport.connect(
        JetStreamSettings(workspace="{name}", partitions={partitions}), {{}})
    await t.delete_stream()
    await t.close()
asyncio.run(main())
"""


def _count(schema: str) -> int:
    return int(_sql(f"SELECT count(*) FROM {schema}.t"))


def _truncate(schema: str) -> None:
    _sql(f"TRUNCATE {schema}.t")


def _sql(query: str) -> str:
    """One statement through psql (what the machine has; no driver to add for a bench)."""
    done = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-Atc", query],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def _report(args: argparse.Namespace, single: float, spread: float) -> None:
    results = {
        "rows": args.rows,
        "workers": args.workers,
        "partitions": args.partitions,
        "batch_size": args.batch_size,
        "rate_limit_per_s": args.rate_limit,
        "one_process_s": round(single, 2),
        "distributed_s": round(spread, 2),
        "ratio": round(spread / single, 2),
    }
    if args.json:
        print(json.dumps(results))
        return
    limit = f", {args.rate_limit:g} writes/s allowed" if args.rate_limit else ""
    print(
        f"{args.rows:,} rows, SQLite to PostgreSQL, state in PostgreSQL, "
        f"batch_size {args.batch_size:,}{limit}"
    )
    print(
        f"  one process (run --once):          {single:7.2f} s  {args.rows / single:9,.0f} rows/s"
    )
    print(
        f"  reader + {args.workers} workers, {args.partitions} partitions: {spread:7.2f} s  "
        f"{args.rows / spread:9,.0f} rows/s"
    )
    print(f"  ratio (distributed / one process): {spread / single:.2f}")


if __name__ == "__main__":
    main()
