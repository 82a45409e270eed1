"""PostgreSQL to PostgreSQL: syncwell against psql's text COPY pipe, on the same rows.

Phases, each timed for both and checked for equal data afterwards:

1. full sync: every row of ``bench_src.contacts`` into an empty table; the reference is
   ``psql -c "\\copy ... to stdout" | psql -c "\\copy ... from stdin"``.
2. incremental: a share of the source rows is edited; syncwell runs again on its checkpoint,
   the reference pipes just the changed rows into an empty table.

Run: ``.venv/bin/python bench/pg_to_pg.py [--rows 1000000] [--json]`` (or ``make bench``).
``--profile`` runs only the full sync, in this process: once with timers on its stages, once
under cProfile. ``--sweep 2000,5000,10000`` compares batch sizes on the full sync.
docs/benchmarks.md explains the method and reads the results.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from _dataset import DESTINATION, REFERENCE, SOURCE, TABLE, Dataset, Postgres
from _machine import machine_facts
from _processes import Finished, run_measured, run_pipe
from _report import RATIO_TARGET, Phase, render_table

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
T = TypeVar("T")

_WORKSPACE = """\
name: bench-pg-to-pg
state: sqlite:///{state}
systems:
  src: {{kind: postgres, dsn: "{dsn}", schema: {source}}}
  dst: {{kind: postgres, dsn: "{dsn}", schema: {destination}}}
flows:
  {table}:
    source: src
    destination: dst
    stream: {table}
    key: id
    cursor: updated_at
    batch_size: {batch_size}
"""


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="source rows (1,000,000)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--batch-size", type=int, default=5000, help="the flow's batch_size")
    parser.add_argument(
        "--repeat", type=int, default=3, help="full syncs, each side; the median counts (3)"
    )
    parser.add_argument("--edit-share", type=float, default=0.1, help="rows edited (0.1)")
    parser.add_argument("--dsn", default=DEFAULT_DSN, help=f"the database ({DEFAULT_DSN})")
    parser.add_argument(
        "--profile", action="store_true", help="profile the full sync in-process, nothing else"
    )
    parser.add_argument("--top", type=int, default=25, help="functions the profile lists (25)")
    parser.add_argument(
        "--sweep",
        type=lambda text: [int(size) for size in text.split(",")],
        help="batch sizes to compare on the full sync, e.g. 1000,5000,20000 (nothing else runs)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the workspace folder")
    return parser.parse_args(argv)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _timed(label: str, work: Callable[[], T]) -> tuple[T, float]:
    _say(f"{label} ...")
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    _say(f"{label}: {seconds:.1f}s")
    return result, seconds


def _write_workspace(folder: Path, dsn: str, batch_size: int) -> Path:
    path = folder / "syncwell.yaml"
    path.write_text(
        _WORKSPACE.format(
            state=folder / "state.db",
            dsn=dsn,
            source=SOURCE,
            destination=DESTINATION,
            table=TABLE,
            batch_size=batch_size,
        ),
        encoding="utf-8",
    )
    return path


def _syncwell() -> str:
    beside = Path(sys.executable).parent / "syncwell"
    found = str(beside) if beside.exists() else shutil.which("syncwell")
    if found is None:
        raise SystemExit("syncwell is not installed: run `make bench` (it installs the venv)")
    return found


def _sync(workspace: Path, label: str) -> tuple[Finished, int]:
    """Run `syncwell run --once`; return the run and how many rows it read."""
    _say(f"{label} ...")
    run = run_measured([_syncwell(), "run", "--once", "-w", str(workspace), "--json"])
    if run.returncode != 0:
        raise SystemExit(f"syncwell failed ({run.returncode}):\n{run.stderr}\n{run.stdout}")
    flows = json.loads(run.stdout)
    dead = sum(int(flow["dead_lettered"]) for flow in flows)
    if dead:
        raise SystemExit(f"syncwell dead-lettered {dead} rows:\n{run.stdout}")
    _say(
        f"{label}: {run.seconds:.1f}s, peak {run.peak_rss_mb:.0f} MB, cpu {run.cpu_s:.1f}s, "
        f"postgres cpu {run.server_cpu_s:.1f}s"
    )
    return run, sum(int(flow["read"]) for flow in flows)


def _pipe(postgres: Postgres, copy_out: str, label: str) -> Finished:
    _say(f"{label} ...")
    run = run_pipe(
        postgres.psql("-c", f"\\copy {copy_out} to stdout"),
        postgres.psql("-c", f"\\copy {REFERENCE}.{TABLE} from stdin"),
    )
    if run.returncode != 0:
        raise SystemExit(f"the reference pipe failed ({run.returncode}): {run.stderr}")
    _say(f"{label}: {run.seconds:.1f}s, cpu {run.cpu_s:.1f}s, postgres cpu {run.server_cpu_s:.1f}s")
    return run


def _equal(dataset: Dataset, expected: str, actual: str, label: str) -> bool:
    want, got = dataset.checksum(expected), dataset.checksum(actual)
    _say(f"check {label}: {got.rows:,} rows, {'equal' if want == got else f'DIFFERENT {want}'}")
    return want == got


def _fresh_workspace(folder: Path, dsn: str, batch_size: int, run: str) -> Path:
    """A workspace with a state store of its own: every full sync starts from nothing."""
    run_folder = folder / run
    run_folder.mkdir()
    return _write_workspace(run_folder, dsn, batch_size)


def _full_sync(dataset: Dataset, workspaces: list[Path], rows: int) -> Phase:
    """Reference and syncwell take turns, once per workspace; the last one's state is kept."""
    references, syncs, read, verified = [], [], 0, True
    source = dataset.table(SOURCE)
    for turn, workspace in enumerate(workspaces, 1):
        dataset.truncate(REFERENCE)
        references.append(_pipe(dataset.postgres, f"{SOURCE}.{TABLE}", f"reference: full #{turn}"))
        verified &= _equal(dataset, source, dataset.table(REFERENCE), "reference")
        dataset.truncate(DESTINATION)
        synced, read = _sync(workspace, f"syncwell: full sync #{turn}")
        syncs.append(synced)
        verified &= _equal(dataset, source, dataset.table(DESTINATION), "syncwell")
    return Phase("full sync", rows, tuple(references), tuple(syncs), read, verified, RATIO_TARGET)


def _incremental(dataset: Dataset, workspace: Path, edits: int) -> Phase:
    mark = dataset.high_water()
    _timed(f"edit {edits:,} source rows", lambda: dataset.edit(edits))
    changed = dataset.changed_since(mark)
    dataset.truncate(REFERENCE)
    reference = _pipe(dataset.postgres, f"({changed})", "reference: changed rows")
    verified = _equal(dataset, changed, dataset.table(REFERENCE), "reference")
    synced, read = _sync(workspace, "syncwell: incremental sync")
    verified &= _equal(dataset, dataset.table(SOURCE), dataset.table(DESTINATION), "syncwell")
    name = f"incremental ({edits:,} edited)"
    return Phase(name, edits, (reference,), (synced,), read, verified, None)


def _profile(dataset: Dataset, folder: Path, args: argparse.Namespace) -> int:
    """The full sync in-process: once with stage timers, once under cProfile."""
    from _profile import run_profiled, run_staged

    equal = True
    for label, run in (
        ("with stage timers", run_staged),
        ("under cProfile", lambda workspace: run_profiled(workspace, args.top)),
    ):
        workspace = _fresh_workspace(folder, args.dsn, args.batch_size, label.split()[-1])
        dataset.truncate(DESTINATION)
        _say(f"syncwell in-process: full sync {label} ...")
        measured = run(workspace)
        equal &= _equal(dataset, dataset.table(SOURCE), dataset.table(DESTINATION), "syncwell")
        print(f"== full sync {label}: {measured.delivered:,} changes delivered in ", end="")
        print(f"{measured.seconds:.1f}s, {args.rows / measured.seconds:,.0f} rows/s ==")
        print(measured.report)
    return 0 if equal else 1


def _sweep(dataset: Dataset, folder: Path, args: argparse.Namespace) -> int:
    """The full sync at each batch size, from an empty target and a fresh state each time."""
    lines = ["batch_size  seconds  syncwell rows/s  peak RSS MB  cpu s  postgres cpu s  equal"]
    equal = True
    for turn, size in enumerate(args.sweep, 1):
        workspace = _fresh_workspace(folder, args.dsn, size, f"sweep-{turn}-batch-{size}")
        dataset.truncate(DESTINATION)
        synced, _ = _sync(workspace, f"syncwell: batch_size {size}")
        same = _equal(dataset, dataset.table(SOURCE), dataset.table(DESTINATION), "syncwell")
        equal = equal and same
        lines.append(
            f"{size:>10}  {synced.seconds:7.1f}  {args.rows / synced.seconds:15,.0f}  "
            f"{synced.peak_rss_mb:11.0f}  {synced.cpu_s:5.1f}  {synced.server_cpu_s:14.1f}  "
            f"{'yes' if same else 'NO'}"
        )
    print("\n".join(lines))
    return 0 if equal else 1


def _startup_s(workspace: Path) -> float:
    """How long `syncwell check` takes: the fixed cost in every run (imports, loading)."""
    return run_measured([_syncwell(), "check", "-w", str(workspace)]).seconds


def _print(results: dict[str, object], phases: list[Phase], as_json: bool) -> None:
    if as_json:
        print(json.dumps({**results, "phases": [p.as_dict() for p in phases]}, indent=2))
        _say(render_table(phases))  # people watching a scripted run see the verdict too
        return
    for section in ("machine", "dataset", "settings"):
        print(f"{section}:")
        values = results[section]
        assert isinstance(values, dict)
        for key, value in values.items():
            print(f"  {key}: {value:,}" if isinstance(value, int) else f"  {key}: {value}")
    print()
    print(render_table(phases))


def _benchmark(dataset: Dataset, folder: Path, args: argparse.Namespace) -> list[Phase]:
    turns = [
        _fresh_workspace(folder, args.dsn, args.batch_size, f"full-{turn}")
        for turn in range(1, args.repeat + 1)
    ]
    full = _full_sync(dataset, turns, args.rows)
    return [full, _incremental(dataset, turns[-1], round(args.rows * args.edit_share))]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 when a target table does not equal its source."""
    args = _arguments(argv)
    dataset = Dataset(Postgres(args.dsn))
    machine = machine_facts(dataset.postgres)
    (avg_bytes, table_bytes), generated_s = _timed(
        f"generate {args.rows:,} rows", lambda: dataset.generate(args.rows)
    )
    _say(f"source: avg(pg_column_size(t.*)) = {avg_bytes} bytes a row, {table_bytes:,} bytes")
    folder = Path(tempfile.mkdtemp(prefix="syncwell-bench-"))
    try:
        if args.profile:
            return _profile(dataset, folder, args)
        if args.sweep:
            return _sweep(dataset, folder, args)
        startup_s = _startup_s(_fresh_workspace(folder, args.dsn, args.batch_size, "check"))
        phases = _benchmark(dataset, folder, args)
    finally:
        if args.keep:
            _say(f"workspace kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    machine["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    results: dict[str, object] = {
        "machine": machine,
        "dataset": {
            "rows": args.rows,
            "avg_row_bytes": avg_bytes,
            "table_mb": round(table_bytes / 2**20),
            "generate_s": round(generated_s, 1),
        },
        "settings": {
            "batch_size": args.batch_size,
            "edit_share": args.edit_share,
            "full_sync_repeats": args.repeat,
            "syncwell_startup_s": round(startup_s, 2),
        },
    }
    _print(results, phases, args.json)
    return 0 if all(p.verified for p in phases) else 1


if __name__ == "__main__":
    sys.exit(main())
