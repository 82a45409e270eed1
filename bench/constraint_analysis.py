"""Constraint analysis at scale: 1,000 systems, 5,000 flows, 30 days of measurements.

A workspace of one core system and 999 tools (a quarter of them rate-limited), each tool with
about five flows to or from core, gets 30 days of hourly and daily rollups written straight
into a fresh SQLite store (what the engine's flushes would have left there), the minutes at
the windows' edges and the last hour of them, incidents and dead letters. Three tools are
planted bad: one whose demand needs more than its rate limit allows (it must be named the
constraint), one whose destination refuses records, one with outages. Then
`syncwell.analyze.analyze` runs over the last 24 hours and over the last 30 days, several
times each, side by side with the bare SQL it cannot avoid (the per-flow aggregates of days,
hours and edge minutes, and the forecast's daily series, through `sqlite3`).

**Target: an analysis (gather + judge + store) under 2 s, median of the runs.**

Run: ``.venv/bin/python bench/constraint_analysis.py [--repeat 5] [--json] [--profile]``.
docs/benchmarks.md explains the method and reads the results.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import math
import os
import pstats
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

from _machine import machine_facts
from syncwell import load_workspace
from syncwell.analyze import analyze, gather, judge, kept_report
from syncwell.store import Store, StoredAnalysis, open_store
from syncwell.store.codec import encode_batch
from syncwell.types import ChangeBatch
from syncwell.workspace import Workspace

TARGET_S = 2.0
_DAY, _HOUR, _WEEK = 86400, 3600, 7 * 86400
_STREAMS = ("contacts", "deals", "tickets", "invoices", "events", "tasks")
"""A tool's k-th flow: even k come from the tool into core, odd k go from core to the tool."""
_ROLES = ("poison", "constraint", "outage")
"""Planted at a quarter, half and three quarters of the tools (tool0250, tool0500, tool0750)."""
_CONSTRAINT_PER_S = 2
_POISON_SHARE = 0.012
_GROWTH_PER_WEEK = 1.05
_LARGEST = frozenset({"read_gap_max_s", "lag_max_s", "backlog_max", "dead_letters_max"})
_LEAST = frozenset({"headroom_min", "source_rate_min", "destination_rate_min"})
_MEASURED = (
    "measured_s", "changes_in", "backfill_in", "screened", "changes_out", "batches", "attempts",
    "retries_transient", "retries_rate_limited", "retries_timeout", "dead_lettered", "busy_s",
    "out_busy", "reads", "read_failures", "read_gap_max_s", "latency_sum_ms", "latency_buckets",
    "lag_sum_s", "lag_max_s", "late", "requests", "backlog_max", "dead_letters_max",
    "breaker_open_s", "headroom_min", "source_rate_min", "destination_rate_min",
    "missed_by_webhooks", "verified", "drifted",
)  # fmt: skip
"""The measured columns of a minute and of its rollups, in the order the generator writes them."""
_DEAD = _MEASURED.index("dead_lettered")
_BUCKETS = 11
_WINDOWS = {"24h": _DAY, "30d": 30 * _DAY}
_GENERATION = ("tools", "flows", "days", "seed", "dead_letter_rate")
"""The options that shape the data (and are read back from a --reuse folder)."""
_INCIDENT = ("integration", "flow", "cause", "detail", "opened_at", "closed_at")
_DEAD_LETTER = (
    "flow", "key", "op", "version", "payload", "reason", "error_class", "attempts", "status",
    "created_at", "resolved_at", "replayed_as", "replayed_after",
)  # fmt: skip


@dataclass(slots=True)
class _Flow:
    """One flow of the plan, and what its generator carries from hour to hour."""

    name: str
    tool: str
    inbound: bool
    mode: str
    interval_s: int
    freshness_s: int
    success: float
    batch_size: int
    per_hour: float
    """Changes in per hour at the end of the data, before the daily cycle."""
    latency_ms: float
    lag_s: float
    rate_per_s: float | None
    """The tool's rate limit, when it has one (learned from its headers too)."""
    role: str = ""
    """constraint, poison, outage (the planted tools), or empty."""
    budget_per_hour: float = 0.0
    """The constraint's share of its tool's budget; 0 for the others."""
    backlog: int = 0
    outages: dict[int, int] = field(default_factory=dict)
    """Hour start -> seconds the breaker was open in it."""
    day: list[tuple[object, ...]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Plan:
    limits: dict[str, float]
    """Tool -> requests per second, for the rate-limited ones."""
    flows: list[_Flow]
    planted: dict[str, str]
    """Role -> tool."""


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tools", type=int, default=999, help="external systems (999)")
    parser.add_argument("--flows", type=int, default=5000, help="flows (5,000)")
    parser.add_argument("--days", type=int, default=30, help="days of measurements (30)")
    parser.add_argument("--repeat", type=int, default=5, help="analyses of each window (5)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--dead-letter-rate", type=float, default=0.002,
        help="chance that a flow dead-letters one change in an hour (0.002)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--profile", action="store_true", help="profile one analysis a window")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--reuse", type=Path, help="a folder kept by --keep: skip generation")
    args = parser.parse_args(argv)
    if args.tools < 3 or args.flows < args.tools or args.days < 8:
        parser.error("needs at least 3 tools, a flow per tool and 8 days")
    return args


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _tool(index: int) -> str:
    return f"tool{index:04d}"


def _plan(args: argparse.Namespace, rng: random.Random) -> _Plan:
    tools = [_tool(i) for i in range(1, args.tools + 1)]
    planted = {role: tools[len(tools) * i // 4] for i, role in enumerate(_ROLES, 1)}
    limits = {t: rng.choice((5.0, 10.0, 20.0, 50.0)) for t in tools if rng.random() < 0.25}
    limits[planted["constraint"]] = _CONSTRAINT_PER_S
    flows = [_flow(rng, j, tools, limits) for j in range(args.flows)]
    roles = {tool: role for role, tool in planted.items()}
    count = sum(1 for f in flows if f.tool == planted["constraint"])
    for flow in flows:
        flow.role = roles.get(flow.tool, "")
        if flow.role == "constraint":
            # One request a change (no bulk endpoint): demand at the end is 1.6x the budget.
            flow.budget_per_hour = _CONSTRAINT_PER_S * _HOUR / count
            flow.per_hour = 1.6 * flow.budget_per_hour
    return _Plan(limits, flows, planted)


def _flow(rng: random.Random, index: int, tools: list[str], limits: dict[str, float]) -> _Flow:
    tool, k = tools[index % len(tools)], index // len(tools)
    mode = rng.choices(("poll", "realtime", "batch"), (0.6, 0.3, 0.1))[0]
    interval = {"poll": rng.choice((30, 60, 120, 300)), "realtime": 900, "batch": 3600}[mode]
    floor = 30 if mode == "realtime" else 3 * interval
    freshness = rng.choice([s for s in (60, 300, 900, 1800, 3600, 4 * 3600) if s >= floor][:3])
    return _Flow(
        name=f"{tool}_{_STREAMS[k % len(_STREAMS)]}{'' if k < len(_STREAMS) else k}",
        tool=tool,
        inbound=k % 2 == 0,
        mode=mode,
        interval_s=interval,
        freshness_s=freshness,
        success=rng.choice((0.99, 0.995)),
        batch_size=rng.choice((500, 1000, 5000, 5000)),
        per_hour=min(50_000.0, max(60.0, math.exp(rng.gauss(5.0, 1.2)))),
        latency_ms=rng.choice((15, 40, 80, 200, 400, 900)) * (0.8 + 0.4 * rng.random()),
        lag_s=(1 + 4 * rng.random()) if mode == "realtime" else interval / 2 + 2,
        rate_per_s=limits.get(tool),
    )


def _workspace_yaml(plan: _Plan) -> str:
    lines = ["version: 1", "name: constraint-bench", "core: core", "systems:"]
    lines += ["  core:", "    kind: postgres", "    dsn: postgresql://bench@127.0.0.1:5432/core"]
    for tool in sorted({f.tool for f in plan.flows}):
        lines += [f"  {tool}:", "    kind: sqlite", f"    path: tools/{tool}.db"]
        if tool in plan.limits:
            lines.append(f"    rate_limit: {{per_second: {plan.limits[tool]:g}}}")
    lines.append("flows:")
    for f in plan.flows:
        source, destination = (f.tool, "core") if f.inbound else ("core", f.tool)
        stream = f.name.removeprefix(f"{f.tool}_")
        lines += [
            f"  {f.name}:",
            f"    source: {source}",
            f"    destination: {destination}",
            f"    stream: {stream}",
            "    key: id",
            "    cursor: updated_at",
            f"    mode: {f.mode}",
            f"    interval: {f.interval_s}s",
            f"    batch_size: {f.batch_size}",
            f"    slo: {{freshness: {f.freshness_s}s, success_rate: {f.success}}}",
        ]
    return "\n".join(lines) + "\n"


def _buckets(latency_ms: float, batches: int) -> str:
    counts = [0] * _BUCKETS
    bounds = (10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
    index = next((i for i, b in enumerate(bounds) if latency_ms <= b), len(bounds))
    counts[index] = batches - batches // 4
    counts[min(index + 1, _BUCKETS - 1)] += batches // 4
    return ",".join(map(str, counts))


def _row(
    f: _Flow, start: int, seconds: int, volume: float, r: Callable[[], float], dl_rate: float
) -> tuple[object, ...]:
    """What a flow measured in `seconds` from `start` (an hour, or a minute): `_MEASURED`."""
    scale = seconds / _HOUR
    changes_in = int(f.per_hour * volume * scale * (0.85 + 0.3 * r()) + r())
    reads = int(seconds / f.interval_s + r())
    if f.budget_per_hour:  # the constraint writes no faster than its budget allows
        out = min(changes_in + f.backlog, int(f.budget_per_hour * scale + r()))
    else:
        out = changes_in
    dead = 1 if out and r() < dl_rate * scale else 0
    if f.role == "poison" and not f.inbound:
        dead = int(changes_in * _POISON_SHARE * (0.8 + 0.4 * r()) + r())
    out = max(0, out - dead)
    backlog = max(0, f.backlog + changes_in - out - dead)
    if seconds == _HOUR:
        f.backlog = backlog
    down = f.outages.get(start // _HOUR * _HOUR, 0) * scale
    per_batch = 4 if f.mode == "realtime" else max(1, out // max(reads, 1) + 1)
    batches = min(out, max(1, out // per_batch))
    # About one write in 500 is retried (one in 1,000 for a 429), well inside any error budget.
    transient = 1 if r() < batches / 500 else 0
    limited = 1 if f.rate_per_s and r() < batches / 1000 else 0
    if backlog:  # always writing, always behind
        busy_s, out_busy, late = seconds - down, out, out
    else:
        busy_batches = int(batches * 0.2 * r())
        busy_s = busy_batches * f.latency_ms / 1000
        out_busy = int(busy_batches * out / max(batches, 1) * 2)
        late = (1 if r() < 0.02 * scale else 0) + int(out * down / max(seconds, 1))
    lag = f.lag_s + (backlog / max(out, 1) * seconds if backlog else 0.0)
    rate, learned = f.rate_per_s, None if f.rate_per_s is None else float(f.rate_per_s)
    return (
        float(seconds), changes_in, 0, 0, out, batches, batches + transient + limited, transient,
        limited, 0, dead, busy_s, out_busy, reads, 0, f.interval_s * (1 + 0.1 * r()),
        batches * f.latency_ms * (0.8 + 0.4 * r()), _buckets(f.latency_ms, batches),
        batches * lag * (0.8 + 0.4 * r()), lag * (2 + 2 * r()), min(late, out),
        out + reads if f.budget_per_hour else batches + reads,
        backlog if backlog else int(out_busy * r()), dead, float(down),
        None if rate is None else 0.0 if f.budget_per_hour else 0.3 + 0.6 * r(),
        learned if f.inbound else None, None if f.inbound else learned,
        1 if f.mode == "realtime" and r() < 0.05 * scale else 0,
        0, 0,  # nothing read back: past their first records, flows verify no more
    )  # fmt: skip


def _day_row(rows: list[tuple[object, ...]]) -> tuple[object, ...]:
    """The hours of one day added up as the store rolls minutes up by day."""
    folded: list[object] = []
    for name, values in zip(_MEASURED, zip(*rows, strict=True), strict=True):
        present = [v for v in values if v is not None]
        if name in _LARGEST:
            folded.append(max(present))
        elif name in _LEAST:
            folded.append(min(present) if present else None)
        elif name == "latency_buckets":
            parts = [map(int, str(v).split(",")) for v in values]
            folded.append(",".join(str(sum(c)) for c in zip(*parts, strict=True)))
        else:
            folded.append(sum(present))
    return tuple(folded)


def _edge_minutes(at: int) -> list[int]:
    """The minutes the analyses read (their windows' partial hours) and the last hour."""
    minutes = set(range(at - _HOUR, at, 60))
    for window in _WINDOWS.values():
        since = at - window
        minutes.update(range(since, -(-since // _HOUR) * _HOUR, 60))
    return sorted(minutes)


def _insert(db: sqlite3.Connection, table: str, columns: tuple[str, ...]) -> str:
    known = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
    missing = set(known) - set(columns) - {"id"}
    if missing:
        raise SystemExit(f"the bench does not write {table}.{sorted(missing)}: update it")
    return f"INSERT INTO {table} ({','.join(columns)}) VALUES ({','.join('?' * len(columns))})"


def _volume(start: int, at: int) -> float:
    """Growth of 5% a week up to `at`, times a daily cycle peaking at 15:00 UTC."""
    trend = float(_GROWTH_PER_WEEK ** ((start - at) / _WEEK))
    return trend * (1 + 0.4 * math.sin(2 * math.pi * ((start % _DAY) / _DAY - 0.375)))


@dataclass(slots=True)
class _Written:
    hourly: int = 0
    daily: int = 0
    minutes: int = 0
    letters: list[tuple[str, int, int, int]] = field(default_factory=list)
    """(flow, start, seconds, dead letters in them)."""


def _write_rollups(
    db: sqlite3.Connection, plan: _Plan, at: int, days: int, rng: random.Random, dl_rate: float
) -> _Written:
    """Hour by hour, every flow, in the order the engine would have written them; then the
    minutes the windows' edges read, and the last hour's."""
    written, r = _Written(), rng.random
    insert = _insert(db, "measurement_rollups", ("span_s", "flow", "start", *_MEASURED))
    # The hour that holds `at` is there in part, as the engine's last flush left it.
    for start in range(at // _HOUR * _HOUR - days * _DAY, at, _HOUR):
        seconds, volume = min(_HOUR, at - start), _volume(start, at)
        rows, day_rows = [], []
        for f in plan.flows:
            row = _row(f, start, seconds, volume, r, dl_rate)
            rows.append((_HOUR, f.name, start, *row))
            f.day.append(row)
            dead = int(str(row[_DEAD]))
            if dead:
                written.letters.append((f.name, start, seconds, dead))
            if (start + _HOUR) % _DAY == 0 or start + _HOUR >= at:
                day_rows.append((_DAY, f.name, start // _DAY * _DAY, *_day_row(f.day)))
                f.day = []
        db.executemany(insert, rows)
        db.executemany(insert, day_rows)
        written.hourly += len(rows)
        written.daily += len(day_rows)
    measured = _insert(db, "measurements", ("flow", "minute", *_MEASURED))
    for minute in _edge_minutes(at):
        volume = _volume(minute, at)
        for f in plan.flows:
            row = _row(f, minute, 60, volume, r, dl_rate)
            db.execute(measured, (f.name, minute, *row))
            dead = int(str(row[_DEAD]))
            if dead:
                written.letters.append((f.name, minute, 60, dead))
        written.minutes += len(plan.flows)
    return written


def _plan_outages(plan: _Plan, at: int, rng: random.Random) -> list[tuple[object, ...]]:
    """Five 20-minute outages of the outage tool (one in the last day), short freshness
    incidents here and there, and the constraint's freshness incidents, open for 20 days."""
    incidents: list[tuple[object, ...]] = []
    starts = [at - 5 * _HOUR] + [at - rng.randint(2, 29) * _DAY for _ in range(4)]
    for opened in starts:
        hour = opened // _HOUR * _HOUR
        for f in plan.flows:
            if f.role == "outage" and not f.inbound:  # the tool's breaker: writes to it
                f.outages[hour] = 1200
                closed = opened + 1200
                incidents.append((f.tool, f.name, "breaker_open", "breaker open", opened, closed))
    for f in rng.sample(plan.flows, 40):
        opened = at - rng.randint(_HOUR, 29 * _DAY)
        closed = opened + rng.randint(300, 1800)
        incidents.append((f.tool, f.name, "freshness", "lag past the SLO", opened, closed))
    incidents += [
        (f.tool, f.name, "freshness", "lag past the SLO", at - 20 * _DAY, None)
        for f in plan.flows
        if f.role == "constraint"
    ]
    return incidents


def _dead_letter_rows(
    letters: list[tuple[str, int, int, int]], poison: str, at: int, rng: random.Random
) -> Iterator[tuple[object, ...]]:
    columns = ("id", "email", "name", "phone", "updated_at")
    for number, (flow, start, seconds, count) in enumerate(letters):
        for i in range(count):
            created = min(at - 1.0, start + rng.random() * seconds)
            key = number * 100 + i
            if flow.startswith(f"{poison}_"):
                reason = f"HTTP 422: property email is not a valid address: 'x{key}@'"
            else:
                reason = rng.choice(
                    ("HTTP 400: phone must be E.164", "NOT NULL constraint failed: name")
                )
            row = (key, f"x{key}@", None, "+1 555", created)
            payload = encode_batch(ChangeBatch(columns, (row,), observed_at=created))
            old = created < at - 7 * _DAY
            yield (
                flow, str(key), "upsert", str(created), payload, reason, "RecordRejectedError",
                1, "replayed" if old else "open", created, created + 600 if old else None,
                None, None,
            )  # fmt: skip


def _generate(folder: Path, args: argparse.Namespace, at: int) -> dict[str, object]:
    rng = random.Random(args.seed)
    plan = _plan(args, rng)
    started = time.perf_counter()
    (folder / "syncwell.yaml").write_text(_workspace_yaml(plan), encoding="utf-8")
    asyncio.run(_migrate(folder))
    db = sqlite3.connect(folder / "state.db", isolation_level=None)
    # The bench's own file: no journal, no fsync, a large cache while the rows go in.
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1000000"):
        db.execute(f"PRAGMA {pragma}")
    db.execute("BEGIN")
    incidents = _plan_outages(plan, at, rng)
    written = _write_rollups(db, plan, at, args.days, rng, args.dead_letter_rate)
    db.executemany(_insert(db, "incidents", _INCIDENT), incidents)
    letters = list(_dead_letter_rows(written.letters, plan.planted["poison"], at, rng))
    db.executemany(_insert(db, "dead_letters", _DEAD_LETTER), letters)
    db.execute("COMMIT")
    db.execute("PRAGMA journal_mode=WAL")  # as the store keeps it
    db.close()
    return {
        "generated_with": {k: getattr(args, k) for k in _GENERATION},
        "planted": plan.planted,
        "generation_s": round(time.perf_counter() - started, 1),
        "hourly_rollups": written.hourly,
        "daily_rollups": written.daily,
        "minute_rows": written.minutes,
        "incidents": len(incidents),
        "dead_letters": len(letters),
        "database_mb": round((folder / "state.db").stat().st_size / 2**20),
    }


async def _migrate(folder: Path) -> None:
    store = await open_store(f"sqlite:///{folder / 'state.db'}")
    await store.close()


def _pieces(since: int, until: int) -> list[tuple[str, int, int]]:
    """[since, until) as the store cuts it: widened to whole hours from 3 hours and to whole
    days from 7 days, then whole days, whole hours and minutes at the edges; each piece as
    (the SQL filter on its table, start, end)."""
    if until - since >= 7 * _DAY:
        since, until = since // _DAY * _DAY, -(-until // _DAY) * _DAY
    elif until - since >= 3 * _HOUR:
        since, until = since // _HOUR * _HOUR, -(-until // _HOUR) * _HOUR
    pieces: list[tuple[str, int, int]] = []

    def cut(start: int, end: int, spans: tuple[int, ...]) -> None:
        if start >= end:
            return
        if not spans:
            pieces.append(("measurements WHERE minute >= ? AND minute < ?", start, end))
            return
        first, last = -(-start // spans[0]) * spans[0], end // spans[0] * spans[0]
        if first >= last:
            cut(start, end, spans[1:])
            return
        where = f"measurement_rollups WHERE span_s = {spans[0]} AND start >= ? AND start < ?"
        pieces.append((where, first, last))
        cut(start, first, spans[1:])
        cut(last, end, spans[1:])

    cut(since, until, (_DAY,) if until - since >= 7 * _DAY else (_HOUR,))
    return pieces


def _reference(db: Path, window_s: int, at: int) -> tuple[float, float, int]:
    """Seconds for the aggregates and for the daily series, in plain SQL through sqlite3, and
    the number of flows that dead-lettered in the window."""
    folds = ", ".join(
        f"{'MAX' if n in _LARGEST else 'MIN' if n in _LEAST else 'SUM'}({n})"
        for n in _MEASURED
        if n != "latency_buckets"
    )
    dead_index = 1 + [n for n in _MEASURED if n != "latency_buckets"].index("dead_lettered")
    today = at // _DAY * _DAY
    dead: set[str] = set()
    with sqlite3.connect(db) as connection:
        started = time.perf_counter()
        for where, start, end in _pieces(at - window_s, at):
            query = f"SELECT flow, {folds} FROM {where} GROUP BY flow"
            rows = connection.execute(query, (start, end)).fetchall()
            dead.update(row[0] for row in rows if row[dead_index])
        middle = time.perf_counter()
        since = today - 28 * _DAY
        connection.execute(
            "SELECT flow, start, changes_in * 86400.0 / measured_s FROM measurement_rollups"
            " WHERE span_s = ? AND start >= ? AND start < ? AND measured_s >= 3600",
            (_DAY, since, today),
        ).fetchall()
        ended = time.perf_counter()
    return middle - started, ended - middle, len(dead)


async def _analysis(
    store: Store, workspace: Workspace, window_s: int, at: int
) -> tuple[float, str]:
    started = time.perf_counter()
    found = await analyze(store, workspace=workspace, window_s=window_s, at=at)
    constraint = found.constraint
    named = f"{constraint.integration} ({constraint.reason})" if constraint else "none"
    return time.perf_counter() - started, named


async def _stages(store: Store, workspace: Workspace, window_s: int, at: int) -> dict[str, float]:
    """One more analysis, taken apart: gather, judge, the report kept, and keeping it."""
    marks = [time.perf_counter()]
    facts = await gather(store, workspace, window_s=window_s, at=at)
    marks.append(time.perf_counter())
    found = judge(facts)
    marks.append(time.perf_counter())
    report = kept_report(found)
    marks.append(time.perf_counter())
    await store.analyses.add(StoredAnalysis(0, at, window_s, None, None, None, "", report))
    marks.append(time.perf_counter())
    names = ("gather", "judge", "report", "store_add")
    times = {n: round(b - a, 3) for n, a, b in zip(names, marks[:-1], marks[1:], strict=True)}
    return {**times, "report_kb": round(len(report) / 2**10)}


def _profile(
    loop: asyncio.AbstractEventLoop, store: Store, workspace: Workspace, window_s: int, at: int
) -> str:
    """One more analysis under cProfile: the top 25 functions by total, then by own time."""
    top = 25
    profiler = cProfile.Profile()
    profiler.enable()
    loop.run_until_complete(_analysis(store, workspace, window_s, at))
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs()
    stats.sort_stats(pstats.SortKey.CUMULATIVE).print_stats(top)
    stats.sort_stats(pstats.SortKey.TIME).print_stats(top)
    return text.getvalue()


class _NoPostgres:
    """`machine_facts` asks a PostgreSQL server for its version; this benchmark uses none."""

    def run(self, sql: str) -> str:
        return ""


def _measure(folder: Path, args: argparse.Namespace, at: int) -> dict[str, object]:
    started = time.perf_counter()
    workspace = load_workspace(folder / "syncwell.yaml")
    load_s = time.perf_counter() - started
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    store = loop.run_until_complete(open_store(f"sqlite:///{folder / 'state.db'}"))
    windows: dict[str, object] = {"workspace_load_s": round(load_s, 2)}
    try:
        for label, window_s in _WINDOWS.items():
            windows[label] = _window(loop, store, workspace, folder, label, window_s, at, args)
            if args.profile:
                _say(f"== cProfile, one analysis of {label} ==")
                _say(_profile(loop, store, workspace, window_s, at))
    finally:
        loop.run_until_complete(store.close())
        loop.close()
    return windows


def _window(
    loop: asyncio.AbstractEventLoop,
    store: Store,
    workspace: Workspace,
    folder: Path,
    label: str,
    window_s: int,
    at: int,
    args: argparse.Namespace,
) -> dict[str, object]:
    runs, references, named = [], [], set()
    flows_dead = 0
    for turn in range(args.repeat):
        aggregate_s, series_s, flows_dead = _reference(folder / "state.db", window_s, at)
        seconds, constraint = loop.run_until_complete(_analysis(store, workspace, window_s, at))
        references.append(aggregate_s + series_s)
        runs.append(seconds)
        named.add(constraint)
        _say(f"window {label} #{turn + 1}: analysis {seconds:.2f}s, reference "
             f"{aggregate_s:.3f}s + {series_s:.3f}s; constraint {constraint}")  # fmt: skip
    stages = loop.run_until_complete(_stages(store, workspace, window_s, at))
    reference = median(references)
    return {
        "analysis_s": [round(s, 3) for s in runs],
        "analysis_median_s": round(median(runs), 3),
        "analysis_max_s": round(max(runs), 3),
        "reference_s": [round(s, 3) for s in references],
        "reference_median_s": round(reference, 3),
        "ratio": round(median(runs) / reference, 1),
        "flows_with_dead_letters": flows_dead,
        "stages_s": stages,
        "constraint": sorted(named),
        "result": "PASS" if median(runs) < TARGET_S else "FAIL",
    }


def _print(results: dict[str, object]) -> None:
    for section in ("machine", "settings", "data"):
        print(f"{section}:")
        for key, value in results[section].items():  # type: ignore[attr-defined]
            print(f"  {key}: {value}")
    measured = results["measured"]
    assert isinstance(measured, dict)
    print(f"workspace load: {measured['workspace_load_s']} s (not part of the analysis)")
    print("window  analysis median  max     reference  ratio  flows dead-lettered  "
          "constraint                   target < 2 s")  # fmt: skip
    for label in ("24h", "30d"):
        w = measured[label]
        print(f"{label:<7} {w['analysis_median_s']:<16} {w['analysis_max_s']:<7} "
              f"{w['reference_median_s']:<10} {w['ratio']:<6} {w['flows_with_dead_letters']:<20} "
              f"{', '.join(w['constraint']):<28} {w['result']}")  # fmt: skip
    for label in ("24h", "30d"):
        print(f"one more {label} analysis, by stage (s): {measured[label]['stages_s']}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 when the planted tool is not named the constraint."""
    args = _arguments(argv)
    machine: dict[str, object] = dict(machine_facts(_NoPostgres()))  # type: ignore[arg-type]
    for unused in ("postgresql", "postgresql_settings", "asyncpg", "msgpack"):
        machine.pop(unused, None)
    machine["sqlite"] = sqlite3.sqlite_version
    folder = args.reuse or Path(tempfile.mkdtemp(prefix="syncwell-constraint-"))
    try:
        if args.reuse:
            data = json.loads((folder / "bench.json").read_text(encoding="utf-8"))
        else:
            # Half past an hour: each window then has partial hours, read from the minutes.
            at = int(time.time()) // _HOUR * _HOUR - _HOUR // 2
            _say(f"generating {args.flows:,} flows x {args.days} days in {folder} ...")
            data = {"at": at, **_generate(folder, args, at)}
            (folder / "bench.json").write_text(json.dumps(data), encoding="utf-8")
            _say(f"generated in {data['generation_s']} s")
        measured = _measure(folder, args, int(data["at"]))
    finally:
        if args.keep or args.reuse:
            _say(f"work folder kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    machine["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    settings = {**data.pop("generated_with"), "repeat": args.repeat}
    results = {"machine": machine, "settings": settings, "data": data, "measured": measured}
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        _print(results)
    named = [measured[w]["constraint"] for w in ("24h", "30d")]  # type: ignore[index]
    planted = f"{data['planted']['constraint']} (rate_limit)"
    return 0 if all(n == [planted] for n in named) else 1


if __name__ == "__main__":
    sys.exit(main())
