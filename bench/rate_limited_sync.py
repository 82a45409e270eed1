"""Rate-limited sync: how much of the CRM's 10 requests/s budget a sync of contacts uses.

N contacts go from a SQLite core table to the sandbox CRM (HubSpot-like: batch upserts of 100,
10 requests per fixed one-second window, 429 + Retry-After + X-RateLimit-* headers), through
the ``http`` connector, with the engine in this process (``Engine.run(once=True)``) and the
CRM in a child process, fresh for every sync. Three setups, taking turns:

- **declared 10/s**: the workspace declares ``rate_limit: {per_second: 10}``;
- **learned**: nothing declared; the limiter learns the limit from the answers' headers;
- **declared 20/s**: a declared limit too high, which the headers must correct.

The limiter these runs first measured at 50% of the budget was replaced by the send-log
limiter they motivated (docs/benchmarks.md tells the story); the experiments that tried it
from here are gone with it.

Run: ``.venv/bin/python bench/rate_limited_sync.py [--contacts 8000] [--repeat 2] [--json]``.
docs/benchmarks.md explains the method and reads the results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import sqlite3
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import structlog

from _machine import machine_facts
from _ratelimit_report import Measured, measure, render_table, summarize
from _ratelimit_sync import Setup, run_sync, write_core

_MIN_CONTACTS = 3000
"""30 requests: at 10/s at least two whole one-second windows lie inside the sync."""

SETUPS = (
    Setup("declared 10/s", 10),
    Setup("learned", None),
    Setup("declared 20/s", 20),
)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--contacts", type=int, default=8000, help="contacts to sync, 100 a request (8,000)"
    )
    parser.add_argument("--repeat", type=int, default=2, help="syncs of each setup (2)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--batch-size", type=int, default=5000, help="the flow's batch_size")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    if args.contacts < _MIN_CONTACTS:
        parser.error(f"--contacts must be at least {_MIN_CONTACTS:,}: fewer fill no whole window")
    return args


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class _NoPostgres:
    """`machine_facts` asks a PostgreSQL server for its version; this benchmark uses none."""

    def run(self, sql: str) -> str:
        return ""


def _machine() -> dict[str, object]:
    facts: dict[str, object] = dict(machine_facts(_NoPostgres()))  # type: ignore[arg-type]
    for unused in ("postgresql", "postgresql_settings", "asyncpg", "msgpack"):
        facts.pop(unused, None)
    facts["sqlite"] = sqlite3.sqlite_version
    for package in ("httpx", "uvicorn", "starlette"):
        try:
            facts[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            facts[package] = "not installed"
    return facts


def _report(run: Measured) -> None:
    _say(
        f"{run.setup} #{run.turn}: {run.upserts_ok} upserts 2xx in "
        f"{run.span_s:.1f}s ({run.rate:.2f}/s), "
        f"{run.share:.1%} of the budget of {len(run.per_window)} whole windows; 429s "
        f"{run.rate_limited} ({run.rate_limited_after_learning} after learning), early "
        f"{run.early}; sync {run.sync_s:.1f}s; CRM has all: {'yes' if run.verified else 'NO'}"
    )


async def _turns(args: argparse.Namespace, folder: Path, core: Path) -> list[Measured]:
    runs: list[Measured] = []
    for turn in range(1, args.repeat + 1):
        _say(f"-- turn {turn} of {args.repeat} --")
        for setup in SETUPS:
            run_folder = folder / f"run-{len(runs) + 1}"
            run_folder.mkdir()
            synced = await run_sync(setup, turn, run_folder, core, args.contacts, args.batch_size)
            runs.append(measure(synced))
            _report(runs[-1])
            if not synced.verified:
                _say(f"  the CRM has {synced.crm_contacts:,}; last error: {synced.last_error}")
    return runs


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 when the CRM does not hold every contact after a sync."""
    args = _arguments(argv)
    # As `syncwell run` does: warnings only (a 429 is one), on stderr, away from --json.
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=lambda *_: structlog.PrintLogger(sys.stderr),
    )
    machine = _machine()
    folder = Path(tempfile.mkdtemp(prefix="syncwell-ratelimit-"))
    try:
        core = folder / "core.db"
        write_core(core, args.contacts)
        runs = asyncio.run(_turns(args, folder, core))
    finally:
        if args.keep:
            _say(f"work folder kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    machine["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    settings = {
        "contacts": args.contacts,
        "upsert_requests_needed": -(-args.contacts // 100),
        "crm_budget": "10 requests per fixed one-second window",
        "batch_size": args.batch_size,
        "repeat": args.repeat,
    }
    summaries = summarize(runs)
    if args.json:
        results = {"machine": machine, "settings": settings}
        runs_json = [run.as_dict() for run in runs]
        summary = [s.as_dict() for s in summaries]
        print(json.dumps({**results, "runs": runs_json, "summary": summary}, indent=2))
        _say(render_table(summaries))
    else:
        for section, values in (("machine", machine), ("settings", settings)):
            print(f"{section}:")
            for key, value in values.items():
                print(f"  {key}: {value}")
        print()
        print(render_table(summaries))
    return 0 if all(run.verified for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
