"""Webhook intake: signed webhooks syncwell accepts durably per second, against a bare endpoint.

Two servers, each a subprocess on a free loopback port, one at a time, on the same HTTP stack
(uvicorn with syncwell's options):

- **syncwell**: ``syncwell run`` on a workspace whose ``crm`` system sends Standard Webhooks
  into a realtime flow to the ``core`` SQLite database (the embedded default: SQLite state
  store, WAL, synchronous=FULL). Each request is verified, parsed, journaled and committed
  before its 200; the engine's delivery writes the changes to ``core.db`` meanwhile.
- **bare**: one Starlette route that reads the body and answers 200 (_webhooks_bare.py).

Each turn, for each server: acknowledgement latency at a fixed rate (an open-loop client,
_webhooks_pace.py), then a flood by wrk with the same settings for both (_webhooks_wrk.py).
Every request carries its own event id. syncwell's count of answers is checked against the
event ids its state store committed.

Run: ``.venv/bin/python bench/webhook_intake.py [--repeat 3] [--json]``; it needs wrk
(``sudo apt-get install -y wrk``). ``--profile`` floods syncwell once in this process with
timers on its stages (group commits, delivery), to see what a request waits for.
docs/benchmarks.md explains the method and the results.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import structlog

from _machine import machine_facts
from _webhooks_pace import Paced, paced
from _webhooks_report import Durability, Run, Verdict, render_table
from _webhooks_requests import durable_events, signed_requests, write_workspace
from _webhooks_servers import Cpu, Server, bare_command, free_port, serving, syncwell_command
from _webhooks_wrk import Flood, WrkSettings, flood, write_request_file, wrk_command

_FLOOD_HEADROOM = 15_000
"""Requests a flood file holds per second of flood: far above what either server answers."""


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--repeat", type=int, default=3, help="turns, each server once a turn; medians count (3)"
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    parser.add_argument("--duration", type=int, default=10, help="wrk flood, seconds (10)")
    parser.add_argument("--rate", type=float, default=300, help="paced requests a second (300)")
    parser.add_argument("--paced", type=float, default=5, help="paced run, seconds (5)")
    parser.add_argument(
        "--contacts", type=int, default=10_000, help="distinct contacts the events update (10,000)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="flood syncwell once in this process with timers on its stages, nothing else",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    return parser.parse_args(argv)


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
    wrk = subprocess.run([wrk_command(), "--version"], capture_output=True, text=True)
    facts["wrk"] = (wrk.stdout or wrk.stderr).split("\n", 1)[0].split(" [")[0]
    facts["sqlite"] = sqlite3.sqlite_version
    for package in ("uvicorn", "h11", "httptools", "uvloop", "starlette", "fastapi"):
        try:
            facts[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            facts[package] = "not installed"
    return facts


def _pace(server: Server, args: argparse.Namespace, prefix: str) -> Paced:
    warmup = round(args.rate)  # one second of warm-up, not counted
    requests = list(signed_requests(prefix, warmup + round(args.rate * args.paced), args.contacts))
    _say(f"{server.name}: {args.rate:g} requests/s for {args.paced:g}s ...")
    latency = paced(server.url, requests, args.rate, warmup)
    _say(
        f"{server.name}: paced p50 {latency.p50_ms:.1f} ms, p99 {latency.p99_ms:.1f} ms, "
        f"max {latency.max_ms:.1f} ms, refused {latency.refused}, failed {latency.failed}"
    )
    return latency


def _flood(
    server: Server, args: argparse.Namespace, flood_file: Path, folder: Path
) -> tuple[Flood, Cpu]:
    settings = WrkSettings(args.threads, args.connections, args.duration)
    _say(f"{server.name}: wrk {settings.threads} threads, {settings.connections} connections ...")
    cpu_before = server.cpu()
    flooded = flood(server.url, flood_file, settings, folder)
    cpu = server.cpu() - cpu_before
    _say(
        f"{server.name}: {flooded.rate:,.0f} answered/s, non-2xx {flooded.non_2xx}, "
        f"server CPU {cpu.loop_s:.1f}s loop + {cpu.other_s:.1f}s other threads, "
        f"wrk CPU {flooded.wrk_cpu_s:.1f}s"
    )
    return flooded, cpu


def _bare(args: argparse.Namespace, flood_file: Path, folder: Path, turn: int) -> Run:
    port = free_port()
    with serving("bare", bare_command(port), port) as server:
        latency = _pace(server, args, f"bare{turn}")
        flooded, cpu = _flood(server, args, flood_file, folder)
    return Run("bare", turn, flooded, latency, cpu, None)


def _syncwell(args: argparse.Namespace, flood_file: Path, folder: Path, turn: int) -> Run:
    root = folder / f"syncwell-{turn}"
    root.mkdir()
    workspace = write_workspace(root)
    port = free_port()
    with serving("syncwell", syncwell_command(workspace, port), port) as server:
        latency = _pace(server, args, f"syncwell{turn}")
        before = durable_events(root)  # WAL: a reader beside the running writer
        flooded, cpu = _flood(server, args, flood_file, folder)
    # Counted after the clean stop: whatever syncwell took in is committed by then.
    committed = durable_events(root) - before
    delivered = sum(int(flow["written"]) for flow in json.loads(server.stdout))
    _say(
        f"syncwell: {committed:,} events committed during the flood, {flooded.ok:,} answered; "
        f"{delivered:,} changes delivered to core.db in all"
    )
    return Run(
        "syncwell",
        turn,
        flooded,
        latency,
        cpu,
        Durability(committed, flooded.ok, flooded.sent, delivered),
    )


def _flood_file(args: argparse.Namespace, folder: Path, turn: int) -> Path:
    """One turn's signed flood requests, written just before it (signatures expire)."""
    path = folder / f"flood-{turn}.tsv"
    count = _FLOOD_HEADROOM * args.duration
    write_request_file(path, signed_requests(f"flood{turn}", count, args.contacts))
    return path


def _profile(args: argparse.Namespace, folder: Path) -> int:
    """One flood of syncwell in this process, with timers on its stages."""
    from _webhooks_stages import run_staged

    # As `syncwell run` does: warnings only, on stderr.
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=lambda *_: structlog.PrintLogger(sys.stderr),
    )
    root = folder / "profiled"
    root.mkdir()
    flood_file = _flood_file(args, folder, 0)
    settings = WrkSettings(args.threads, args.connections, args.duration)
    _say(f"syncwell in-process: wrk {settings.threads} threads, {settings.connections} conns ...")
    flooded, report = run_staged(write_workspace(root), flood_file, settings, folder)
    print(report)
    return 0 if flooded.non_2xx == 0 else 1


def _turns(args: argparse.Namespace, folder: Path) -> Verdict:
    bare: list[Run] = []
    syncwell: list[Run] = []
    for turn in range(1, args.repeat + 1):
        _say(f"-- turn {turn} of {args.repeat} --")
        flood_file = _flood_file(args, folder, turn)
        bare.append(_bare(args, flood_file, folder, turn))
        syncwell.append(_syncwell(args, flood_file, folder, turn))
        flood_file.unlink()
    return Verdict(tuple(bare), tuple(syncwell))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 when a run was not clean (errors, or answers not durable)."""
    args = _arguments(argv)
    wrk_command()  # before anything else: say how to install it
    machine = _machine()
    folder = Path(tempfile.mkdtemp(prefix="syncwell-webhooks-"))
    try:
        if args.profile:
            return _profile(args, folder)
        verdict = _turns(args, folder)
    finally:
        if args.keep:
            _say(f"work folder kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    machine["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    settings = {
        "wrk_threads": args.threads,
        "wrk_connections": args.connections,
        "wrk_duration_s": args.duration,
        "paced_rate_per_s": args.rate,
        "paced_s": args.paced,
        "contacts": args.contacts,
        "repeat": args.repeat,
    }
    if args.json:
        runs = [run.as_dict() for run in (*verdict.bare, *verdict.syncwell)]
        results = {"machine": machine, "settings": settings, "runs": runs}
        print(json.dumps({**results, "summary": verdict.as_dict()}, indent=2))
        _say(render_table(verdict))
    else:
        for section, values in (("machine", machine), ("settings", settings)):
            print(f"{section}:")
            for key, value in values.items():
                print(f"  {key}: {value}")
        print()
        print(render_table(verdict))
    return 0 if verdict.valid else 1


if __name__ == "__main__":
    sys.exit(main())
