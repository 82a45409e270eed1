"""What measuring freshness on the source's clock costs: the pages of an incremental read of
100,000 PostgreSQL rows, read with and without the time of their oldest change taken from the
cursor column (src/syncwell/engine/changetimes.py).

The rows are read from a table of their own (a schema named for this run, dropped after) by
the real PostgreSQL source, once as COPY text (PostgreSQL to PostgreSQL) and once as rows
(to any other destination), `--repeat` times each; the median counts. The stamping of the
same pages is also timed alone, and on 100,000 cursor values in each form a source hands
over: datetimes, ISO texts of one form, ISO texts of mixed forms (the slow path).

Run: ``.venv/bin/python bench/change_times.py [--rows 100000] [--repeat 5] [--dsn ...]``.
docs/benchmarks.md has the results.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import statistics
import time
import uuid

import asyncpg

from syncwell.connectors import open_source
from syncwell.engine.changetimes import ChangeTimes
from syncwell.types import ChangeBatch
from syncwell.workspace import parse_workspace

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"

_TABLE = """
CREATE TABLE {schema}.contacts (
    id bigint PRIMARY KEY, email text NOT NULL, first_name text, last_name text,
    stage text, score integer, updated_at timestamptz NOT NULL);
INSERT INTO {schema}.contacts
SELECT g, 'user' || g || '@example.com', 'First' || g, 'Last' || g, 'lead', g % 100,
       now() - (({rows} - g) * interval '1 millisecond')
FROM generate_series(1, {rows}) AS g;
CREATE INDEX ON {schema}.contacts (updated_at, id);
ANALYZE {schema}.contacts;
"""

_WORKSPACE = """
systems:
  src: {{kind: postgres, dsn: "{dsn}", schema: {schema}}}
  dst: {{kind: postgres, dsn: "{dsn}", schema: {schema}}}
flows:
  contacts: {{source: src, destination: dst, stream: contacts, key: id, cursor: updated_at}}
"""


async def _read(dsn: str, schema: str, copy_text: bool, stamp: bool) -> tuple[float, float]:
    """Seconds to read every row incrementally, and of those, seconds spent stamping."""
    workspace = parse_workspace(_WORKSPACE.format(dsn=dsn, schema=schema))
    flow = workspace.flows["contacts"]
    spec = dataclasses.replace(flow.source_spec(), copy_text=copy_text)
    times = ChangeTimes([flow], time.time)
    times.read_started(flow.name)
    times.read_finished(flow.name)  # a later read: its pages are stamped
    source = await open_source("src", workspace.systems["src"].settings)
    checkpoint = {"phase": "incremental", "cursor": "2000-01-01", "key": None, "window": None}
    stamping, rows = 0.0, 0
    try:
        started = time.perf_counter()
        async for batch, _ in source.read(spec, checkpoint):
            rows += len(batch)
            if stamp:
                before = time.perf_counter()
                times.page(flow.name, batch, incremental=True)
                stamping += time.perf_counter() - before
        elapsed = time.perf_counter() - started
    finally:
        await source.aclose()
    assert rows > 0
    return elapsed, stamping


def _values(rows: int) -> dict[str, list[object]]:
    now = time.time()
    moments = [dt.datetime.fromtimestamp(now - i / 1000, dt.UTC) for i in range(rows)]
    uniform = [m.strftime("%Y-%m-%dT%H:%M:%S.%fZ") for m in moments]
    mixed = [
        m.isoformat() if i % 2 else m.strftime("%Y-%m-%dT%H:%M:%SZ") for i, m in enumerate(moments)
    ]
    return {"datetimes": list(moments), "ISO texts, one form": uniform, "ISO texts, mixed": mixed}


def _stamp_alone(rows: int, repeat: int) -> None:
    wall = time.time
    flow = parse_workspace(_WORKSPACE.format(dsn=DEFAULT_DSN, schema="x")).flows["contacts"]
    times = ChangeTimes([flow], wall)
    times.read_started(flow.name)
    times.read_finished(flow.name)
    for form, values in _values(rows).items():
        batch = ChangeBatch(("id", "updated_at"), [(i, v) for i, v in enumerate(values)])
        took = []
        for _ in range(repeat):
            started = time.perf_counter()
            times.page(flow.name, batch, incremental=True)
            took.append(time.perf_counter() - started)
        print(f"  {form:<22} {statistics.median(took) * 1000:8.2f} ms per {rows:,} values")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    args = parser.parse_args()
    schema = f"bench_times_{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(args.dsn)
    try:
        await connection.execute(f"CREATE SCHEMA {schema}")
        await connection.execute(_TABLE.format(schema=schema, rows=args.rows))
        print(f"incremental read of {args.rows:,} rows, median of {args.repeat}:")
        for copy_text in (True, False):
            plain, stamped, alone = [], [], []
            for _ in range(args.repeat):
                plain.append((await _read(args.dsn, schema, copy_text, False))[0])
                elapsed, stamping = await _read(args.dsn, schema, copy_text, True)
                stamped.append(elapsed)
                alone.append(stamping)
            p, s, a = (statistics.median(x) for x in (plain, stamped, alone))
            form = "COPY text" if copy_text else "rows"
            print(
                f"  {form:<10} read {p:6.3f} s, read + stamp {s:6.3f} s, stamping alone "
                f"{a * 1000:7.2f} ms ({a / p:.2%} of the read)"
            )
        print("stamping alone:")
        _stamp_alone(args.rows, args.repeat)
    finally:
        await connection.execute(f"DROP SCHEMA {schema} CASCADE")
        await connection.close()


if __name__ == "__main__":
    asyncio.run(main())
