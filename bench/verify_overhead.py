"""What proving writes costs: a first sync with read-after-write verification off, on for the
first 200 records (the default), and on for every record.

Two destinations, each fed by a SQLite core table through the real engine (`run --once`):

- **postgres**: 20,000 rows in batches of 1,000 into a table in the machine's PostgreSQL; a
  verification is one SELECT by a batch's keys.
- **http**: 600 rows in batches of 100 to a project tracker on loopback (the one the tests
  use: it assigns ids, and each issue is read back with a GET of its own URL).

Each case runs `--repeat` times (a fresh core, destination and state store each time); the
median counts. The engine's verification hook is also timed alone on a flow past its first
records (what every later batch pays).

Run: ``.venv/bin/python bench/verify_overhead.py [--repeat 3] [--dsn postgresql://...]``.
docs/benchmarks.md has the results.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import structlog

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' loopback tracker

from tests.connectors.http import tracker
from tests.connectors.http.tracker import TrackerServer

from syncwell import Engine, load_workspace
from syncwell.connectors.identity import IdentityBook
from syncwell.engine.verify import FlowVerifier, VerifyPlan
from syncwell.store import open_store
from syncwell.types import ChangeBatch, StreamSpec, SystemClock
from syncwell.workspace.verify import Verify

_SETTINGS = {"off": "false", "first 200": "{first: 200}", "every record": "true"}

_POSTGRES = """
core: core
systems:
  core: {{kind: sqlite, path: core.db}}
  replica: {{kind: postgres, dsn: "{dsn}", schema: {schema}}}
flows:
  tasks:
    source: core
    destination: replica
    stream: tasks
    key: id
    cursor: version
    lookback: 0s
    batch_size: 1000
    deletes: {{detect: none}}
    verify: {verify}
"""

_HTTP = """
core: core
systems:
  core: {{kind: sqlite, path: core.db}}
  tracker:
    kind: http
    base_url: {url}
    streams:
      issues:
        write:
          ids: {{field: id, answer: issue.id}}
          create: {{path: /issues.json, body: {{issue: "{{{{record}}}}"}}}}
          update: {{path: "/issues/{{id}}.json", method: PUT, body: {{issue: "{{{{record}}}}"}}}}
flows:
  tasks:
    source: core
    destination: tracker
    stream: tasks
    target: issues
    key: id
    cursor: version
    lookback: 0s
    batch_size: 100
    fields: {{id: external_id, title: subject, done: done_ratio, version: version}}
    deletes: {{detect: none}}
    verify: {verify}
"""


def _core(folder: Path, rows: int) -> None:
    with sqlite3.connect(folder / "core.db") as db:
        db.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT, done INT, version INT)")
        db.executemany(  # each its own version: a read by cursor takes each row once
            "INSERT INTO tasks VALUES (?, ?, ?, ?)",
            ((i, f"task {i}", i % 100, i + 1) for i in range(rows)),
        )


async def _timed(text: str, folder: Path) -> tuple[float, int]:
    """Seconds the run took, and how many records it read back."""
    path = folder / "syncwell.yaml"
    path.write_text(text)
    engine = Engine(load_workspace(path), analyse_every_s=None)
    started = time.perf_counter()
    await engine.run(once=True)
    verifier = engine.verifiers.get("tasks")
    return time.perf_counter() - started, 0 if verifier is None else verifier.totals.verified


async def _postgres(dsn: str, verify: str, rows: int) -> tuple[float, int]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(dsn)
    await admin.execute(
        f"CREATE SCHEMA {schema}; CREATE TABLE {schema}.tasks "
        "(id int PRIMARY KEY, title text, done int, version int)"
    )
    try:
        with tempfile.TemporaryDirectory() as folder:
            _core(Path(folder), rows)
            text = _POSTGRES.format(dsn=dsn, schema=schema, verify=verify)
            return await _timed(text, Path(folder))
    finally:
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


async def _http(url: str, verify: str, rows: int) -> tuple[float, int]:
    tracker.reset()
    with tempfile.TemporaryDirectory() as folder:
        _core(Path(folder), rows)
        return await _timed(_HTTP.format(url=url, verify=verify), Path(folder))


async def _idle_hook(batches: int) -> float:
    """Seconds per batch the hook costs a flow past its first records."""
    with tempfile.TemporaryDirectory() as folder:
        store = await open_store(f"sqlite:///{Path(folder) / 'state.db'}")
        spec = StreamSpec("t", ("id",), ("id", "n"))
        verifier = FlowVerifier(
            VerifyPlan("f", Verify(first=0), spec, ("id",)), None, store, SystemClock()
        )  # type: ignore[arg-type]
        batch = ChangeBatch(spec.columns, [(i, "x") for i in range(1000)])
        book = IdentityBook()
        await verifier.clear_of(batch)
        started = time.perf_counter()
        for _ in range(batches):
            await verifier.clear_of(batch)
            verifier.written(batch, lambda b: b, book)
        elapsed = time.perf_counter() - started
        await store.close()
    return elapsed / batches


async def _main(args: argparse.Namespace) -> None:
    runs: dict[str, dict[str, list[tuple[float, int]]]] = {"postgres": {}, "http": {}}
    with TrackerServer() as url:
        await _postgres(args.dsn, "false", args.pg_rows)  # warm up: connections, caches
        await _http(url, "false", args.http_rows)
        for _ in range(args.repeat):  # the settings interleaved, so drift in the machine
            for name, verify in _SETTINGS.items():  # weighs on each alike
                pg = await _postgres(args.dsn, verify, args.pg_rows)
                runs["postgres"].setdefault(name, []).append(pg)
                web = await _http(url, verify, args.http_rows)
                runs["http"].setdefault(name, []).append(web)
    results = {
        kind: {name: statistics.median(t for t, _ in times) for name, times in by_name.items()}
        for kind, by_name in runs.items()
    }
    checked = {
        kind: {name: statistics.median(n for _, n in times) for name, times in by_name.items()}
        for kind, by_name in runs.items()
    }
    for kind, rows in (("postgres", args.pg_rows), ("http", args.http_rows)):
        off = results[kind]["off"]
        for name, seconds in results[kind].items():
            print(
                f"{kind:8} {rows:>6} rows, verify {name:12}: {seconds:6.2f} s "
                f"({rows / seconds:8,.0f} rows/s, {seconds / off - 1:+6.1%} against off), "
                f"{checked[kind][name]:,.0f} read back"
            )
    hook = await _idle_hook(10_000)
    print(f"the hook on a flow past its first records: {hook * 1e6:.2f} us a batch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--pg-rows", type=int, default=20_000)
    parser.add_argument("--http-rows", type=int, default=600)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    asyncio.run(_main(args))


if __name__ == "__main__":
    main()
