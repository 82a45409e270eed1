"""Commit -> destination latency of a `mode: cdc` flow, PostgreSQL to PostgreSQL, against
the same flow polled every second, at paced write rates.

For each mode and rate: two fresh databases (`bench_cdc_src`, `bench_cdc_dst`), a source
table of `--seed` rows, a real `syncwell run` process (SQLite state, the embedded default)
moving it into the destination; once the copy holds the seed, a paced load writes `rate`
changes a second for `--seconds` (bench/_cdc_load.py). Each change's latency is the moment
the destination's trigger saw it written minus the moment its source COMMIT returned, on the
same clock. Then the run waits until the copy equals the source's last versions, stops
syncwell with SIGTERM, drops the slot and the databases. The exit status is 1 when a copy
never equalled its source; missing the target is reported as FAIL and still exits 0.

Reported per run: p50/p95/p99/max latency, the rate achieved, the peak resident set of the
syncwell process (the kernel's VmHWM) and its CPU while the load ran, and the machine's load
average, since other programs share these 2 cores.

Run: ``.venv/bin/python bench/cdc_latency.py [--rates 1000,5000] [--seconds 40] [--json]``
(or ``make bench-cdc``). docs/benchmarks.md has the method and the results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import asyncpg
import psutil  # type: ignore[import-untyped]  # no stubs in the dev deps

from _cdc_cluster import logical_server, server_setting
from _cdc_load import SOURCE_TABLE, TARGET_TABLE, Load, Written

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
SOURCE_DB, TARGET_DB = "bench_cdc_src", "bench_cdc_dst"
P99_TARGET_MS, RSS_TARGET_MB = 250.0, 300.0

_WORKSPACE = """\
name: bench-cdc
state: sqlite:///{state}
systems:
  core: {{kind: postgres, dsn: "{source}"}}
  copy: {{kind: postgres, dsn: "{target}"}}
flows:
  events:
    source: core
    destination: copy
    stream: events
    key: id
    version: v
    batch_size: {batch_size}
{mode}
"""
_MODES = {
    "cdc": "    mode: cdc",
    "poll": "    mode: poll\n    cursor: updated_at\n    interval: {interval}\n"
    "    lookback: {lookback}",
}


@dataclass(frozen=True, slots=True)
class Result:
    """One mode at one rate."""

    mode: str
    rate: int
    achieved_per_s: float
    committed: int
    measured: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    drain_s: float
    equal: bool
    rss_peak_mb: float
    cpu_percent: float
    load_1m: tuple[float, float]

    @property
    def passed(self) -> bool | None:
        """The target's verdict (a CDC run at 5,000/s or more), else None."""
        if self.mode != "cdc" or self.rate < 5000:
            return None
        return self.equal and self.p99_ms < P99_TARGET_MS and self.rss_peak_mb < RSS_TARGET_MB


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _dsn(server: str, database: str) -> str:
    return server.rsplit("/", 1)[0] + "/" + database


def _syncwell() -> str:
    beside = Path(sys.executable).parent / "syncwell"
    found = str(beside) if beside.exists() else shutil.which("syncwell")
    if found is None:
        raise SystemExit("syncwell is not installed: run `make bench-cdc` (it installs the venv)")
    return found


async def _fresh_databases(server: str, seed: int) -> None:
    admin = await asyncpg.connect(server)
    try:
        await _drop_databases(admin)
        for database in (SOURCE_DB, TARGET_DB):
            await admin.execute(f"CREATE DATABASE {database}")
    finally:
        await admin.close()
    for database, ddl in ((SOURCE_DB, SOURCE_TABLE.format(seed=seed)), (TARGET_DB, TARGET_TABLE)):
        connection = await asyncpg.connect(_dsn(server, database))
        try:
            await connection.execute(ddl)
            if database == SOURCE_DB:
                await connection.execute("VACUUM ANALYZE events")
        finally:
            await connection.close()


async def _drop_databases(admin: asyncpg.Connection) -> None:
    """Drop the benchmark's slots (a database with one cannot go), then its databases."""
    slots = await admin.fetch(
        "SELECT slot_name, active_pid FROM pg_replication_slots WHERE database = $1", SOURCE_DB
    )
    for slot, pid in slots:
        if pid is not None:
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
        for _ in range(50):
            try:
                await admin.execute("SELECT pg_drop_replication_slot($1)", slot)
                break
            except asyncpg.ObjectInUseError:  # its walsender is still ending
                await asyncio.sleep(0.1)
    for database in (SOURCE_DB, TARGET_DB):
        await admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def _workspace(folder: Path, server: str, mode: str, args: argparse.Namespace) -> Path:
    path = folder / "syncwell.yaml"
    lines = _MODES[mode].format(interval=args.poll_interval, lookback=args.poll_lookback)
    path.write_text(
        _WORKSPACE.format(
            state=folder / "state.db",
            source=_dsn(server, SOURCE_DB),
            target=_dsn(server, TARGET_DB),
            batch_size=args.batch_size,
            mode=lines,
        ),
        encoding="utf-8",
    )
    return path


async def _target_sums(target: asyncpg.Connection) -> tuple[int, int]:
    count, total = await target.fetchrow("SELECT count(*), coalesce(sum(v), 0) FROM events")
    return int(count), int(total)


async def _wait_for(target: asyncpg.Connection, want: tuple[int, int], timeout_s: float) -> bool:
    """Wait until the copy's (rows, sum of versions) is `want`; whether it got there."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await _target_sums(target) == want:
            return True
        await asyncio.sleep(0.1)
    return False


def _peak_rss_mb(pid: int) -> float:
    """The kernel's high-water mark of the process's resident set (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _latencies(target: asyncpg.Connection, written: Written, warmup_s: float) -> list[float]:
    """Each change's latency in ms, first arrival, for changes committed after the warm-up."""
    arrived: dict[tuple[int, int], float] = {}
    rows = await target.fetch("SELECT id, v, extract(epoch FROM at)::float8 FROM arrivals")
    for key, version, at in rows:
        arrived.setdefault((key, version), at)
    since = written.started + warmup_s
    return sorted(
        (arrived[change] - committed) * 1000
        for change, committed in written.committed.items()
        if committed >= since and change in arrived
    )


async def _measure(server: str, mode: str, rate: int, args: argparse.Namespace) -> Result:
    await _fresh_databases(server, args.seed)
    folder = Path(tempfile.mkdtemp(prefix="syncwell-bench-cdc-"))
    argv = [_syncwell(), "run", "--no-serve", "-w", str(_workspace(folder, server, mode, args))]
    log = (folder / "run.log").open("wb")
    process = await asyncio.create_subprocess_exec(*argv, stdout=log, stderr=subprocess.STDOUT)
    target = await asyncpg.connect(_dsn(server, TARGET_DB))
    try:
        if not await _wait_for(target, (args.seed, args.seed), 120):
            raise SystemExit(f"{mode}: the copy never held the seed; see {folder / 'run.log'}")
        await asyncio.sleep(2)  # the stream (or the first incremental poll) is under way
        await target.execute("TRUNCATE arrivals")
        watched = psutil.Process(process.pid)
        cpu_before, load_before = watched.cpu_times(), os.getloadavg()[0]
        load = Load(_dsn(server, SOURCE_DB), args.seed, args.per_tx, 0.5, args.writers)
        _say(f"{mode} at {rate:,}/s for {args.seconds:.0f} s ...")
        spy = await _profiler(args, process.pid, folder / f"{mode}-{rate}.folded")
        written = await load.run(rate, args.seconds)
        if spy is not None:
            await spy.wait()
        cpu_after = watched.cpu_times()
        drained = time.monotonic()
        want = (len(_final(args.seed, written)), sum(_final(args.seed, written).values()))
        equal = await _wait_for(target, want, args.drain_timeout)
        drain_s = time.monotonic() - drained
        rss = _peak_rss_mb(process.pid)
        used = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
        cpu = 100 * used / max(written.ended - written.started, 1e-9)
        ordered = await _latencies(target, written, args.warmup)
    finally:
        await target.close()
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 60)
        except TimeoutError:
            process.kill()
            await process.wait()
        log.close()
    if not ordered:
        raise SystemExit(f"{mode}: no change arrived; see {folder / 'run.log'}")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return Result(
        mode=mode,
        rate=rate,
        achieved_per_s=round(written.rate, 1),
        committed=len(written.committed),
        measured=len(ordered),
        p50_ms=round(statistics.median(ordered), 1),
        p95_ms=round(_percentile(ordered, 0.95), 1),
        p99_ms=round(_percentile(ordered, 0.99), 1),
        max_ms=round(ordered[-1], 1),
        drain_s=round(drain_s, 2),
        equal=equal,
        rss_peak_mb=round(rss, 1),
        cpu_percent=round(cpu, 1),
        load_1m=(round(load_before, 2), round(os.getloadavg()[0], 2)),
    )


async def _profiler(
    args: argparse.Namespace, pid: int, out: Path
) -> asyncio.subprocess.Process | None:
    """py-spy sampling where the syncwell process spends its CPU (every thread) while
    the load runs, as folded stacks in the run's folder; None without --py-spy."""
    if args.py_spy is None:
        return None
    _say(f"py-spy -> {out}")
    argv = [args.py_spy, "record", "--threads", "--nonblocking", "-r", "200"]
    argv += ["-d", str(int(args.seconds)), "-f", "raw", "-o", str(out), "-p", str(pid)]
    return await asyncio.create_subprocess_exec(*argv, stdout=subprocess.DEVNULL)


def _final(seed: int, written: Written) -> dict[int, int]:
    """Every key's last version: the seed's 1, or the load's."""
    final = dict.fromkeys(range(1, seed + 1), 1)
    final.update(written.final)
    return final


_HEADERS = ("mode", "rate/s", "achieved/s", "measured", "p50 ms", "p95 ms", "p99 ms", "max ms",
            "RSS MB", "CPU %", "load 1m", "equal", "target")  # fmt: skip


def _row(result: Result) -> tuple[str, ...]:
    verdict = {None: "", True: "PASS", False: "FAIL"}[result.passed]
    return (
        result.mode,
        f"{result.rate:,}",
        f"{result.achieved_per_s:,.0f}",
        f"{result.measured:,}",
        *(f"{value:,.0f}" for value in (result.p50_ms, result.p95_ms, result.p99_ms)),
        f"{result.max_ms:,.0f}",
        f"{result.rss_peak_mb:.0f}",
        f"{result.cpu_percent:.0f}",
        "{:.1f}-{:.1f}".format(*result.load_1m),
        "yes" if result.equal else "NO",
        verdict,
    )


def render(results: list[Result]) -> str:
    """A plain-text table, one line per run."""
    rows = [_HEADERS, *(_row(result) for result in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADERS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def _machine(server: str, kind: str) -> dict[str, object]:
    settings = ("fsync", "synchronous_commit", "shared_buffers", "wal_level")
    return {
        "cpu_count": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
        "postgresql": server_setting(server, "server_version"),
        "postgresql_server": kind,
        **{name: server_setting(server, name) for name in settings},
        "python": sys.version.split()[0],
    }


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    rates = parser.add_argument
    rates("--rates", default="1000,5000", help="changes a second, comma-separated (1000,5000)")
    rates("--modes", default="cdc,poll", help="modes to measure, in order (cdc,poll)")
    rates("--seconds", type=float, default=40, help="seconds of load per run (40)")
    rates("--warmup", type=float, default=3, help="first seconds left out (3)")
    rates("--seed", type=int, default=100_000, help="rows the source starts with (100,000)")
    rates("--per-tx", type=int, default=10, help="changes per transaction (10)")
    rates("--writers", type=int, default=4, help="connections writing at once (4)")
    rates("--batch-size", type=int, default=5000, help="the flow's batch_size (5000)")
    rates("--poll-interval", default="1s", help="the poll flow's interval (1s)")
    rates("--poll-lookback", default="5m", help="the poll flow's lookback (5m, the default)")
    rates("--drain-timeout", type=float, default=120, help="seconds to wait for the copy (120)")
    rates("--dsn", default=DEFAULT_DSN, help=f"the PostgreSQL server ({DEFAULT_DSN})")
    rates("--json", action="store_true", help="print the results as JSON")
    rates("--py-spy", help="the py-spy binary: sample syncwell during each load (needs --keep)")
    rates("--keep", action="store_true", help="keep each run's folder (workspace, state, log)")
    return parser.parse_args()


async def _main(args: argparse.Namespace, server: str, kind: str) -> None:
    machine = _machine(server, kind)
    _say(f"server: {kind} ({server}); {machine['uptime']}")
    results = []
    try:
        for rate in (int(r) for r in args.rates.split(",")):
            for mode in args.modes.split(","):
                results.append(await _measure(server, mode, rate, args))
                _say(render(results[-1:]))
    finally:
        admin = await asyncpg.connect(server)
        try:
            await _drop_databases(admin)
        finally:
            await admin.close()
    if args.json:
        report = {"machine": machine, "results": [asdict(r) | {"passed": r.passed}
                                                  for r in results]}  # fmt: skip
        print(json.dumps(report, indent=2))
    else:
        print(f"{machine['uptime']}; server {kind}, PostgreSQL {machine['postgresql']}")
        print(render(results))
    if not all(result.equal for result in results):
        raise SystemExit(1)  # a copy that never equalled its source: no latency to trust


def main() -> None:
    args = _arguments()
    with logical_server(args.dsn) as (server, kind):
        asyncio.run(_main(args, server, kind))


if __name__ == "__main__":
    main()
