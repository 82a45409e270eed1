"""How a run looks: its live table and its summary, a row per flow."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.console import Console, RenderableType
from rich.markup import escape
from rich.progress_bar import ProgressBar

from syncwell.display import compact
from syncwell.display.fit import Column, FittedTable, Row
from syncwell.engine import FlowProgress

__all__ = ["print_progress", "progress_table"]


def progress_table(progress: Sequence[FlowProgress], now: float, title: str = "") -> FittedTable:
    """A row per flow: progress of a first sync, read, written, matched, rows/s (the recent
    rate), ETA, retries, dead.

    Runs with webhooks or two-way flows also show what came by webhook, what reconciliation
    found the webhooks had missed, and the echoes and stale changes not written. Columns
    that say nothing in this run are left out; in a narrow terminal the table is stacked
    (display/fit.py).
    """
    first_sync = any(_bar(flow) != "-" and flow.eta_s(now) is not None for flow in progress)
    matching = any(flow.matched for flow in progress)  # a first sync found equal records
    realtime = any(flow.hooked or flow.missed_by_webhooks for flow in progress)
    skipping = any(flow.echoes or flow.stale or flow.lost_conflicts for flow in progress)
    columns = [Column("flow"), *([Column("first sync", "done")] if first_sync else [])]
    columns += [Column("read", right=True), Column("written", right=True)]
    columns += [Column("matched", right=True)] if matching else []
    columns += [Column("rows/s", right=True), *([Column("ETA", right=True)] if first_sync else [])]
    columns += [Column("retries", right=True), Column("dead", right=True)]
    columns += [Column("webhooks", right=True), Column("missed", right=True)] if realtime else []
    columns += [Column("echoes", right=True), Column("stale", right=True)] if skipping else []
    columns.append(Column("last error", text=True))
    rows = []
    for flow in progress:
        cells = _cells(flow, now, first_sync=first_sync, matching=matching)
        if realtime:
            cells += [_count(flow.hooked), _count(flow.missed_by_webhooks)]
        if skipping:
            cells += [_count(flow.echoes), _count(flow.stale + flow.lost_conflicts)]
        error = escape(flow.last_error.splitlines()[0][:300]) if flow.last_error else ""
        cells.append((error, error))
        rows.append(Row(full=[full for full, _ in cells], narrow=[short for _, short in cells]))
    return FittedTable(columns, rows, title=title)


_Cell = tuple[RenderableType, str]
"""A cell in the full table, and compact (markup text) when the table is stacked."""


def _cells(flow: FlowProgress, now: float, *, first_sync: bool, matching: bool) -> list[_Cell]:
    """The flow's name and counts up to `dead`."""
    eta, rate = flow.eta_s(now), flow.rate(now)
    cells: list[_Cell] = [(escape(flow.flow), escape(flow.flow))]
    cells += [(_bar(flow), _done(flow))] if first_sync else []
    read, short = _count(flow.read)
    if first_sync and flow.estimate:
        read, short = f"{read} / ~{flow.estimate:,}", f"{short}/~{compact.count(flow.estimate)}"
    cells += [(read, short), _count(flow.written), *([_count(flow.matched)] if matching else [])]
    cells.append((f"{rate:,.0f}", compact.per_second(rate)))
    if first_sync:
        cells.append(("-", "-") if eta is None else (compact.duration(eta),) * 2)
    return [*cells, _count(flow.retries), _count(flow.dead_lettered)]


def _count(value: int) -> _Cell:
    return f"{value:,}", compact.count(value)


def _bar(flow: FlowProgress) -> ProgressBar | str:
    if not flow.estimate:
        return "-"
    return ProgressBar(total=flow.estimate, completed=_settled(flow), width=20)


def _done(flow: FlowProgress) -> str:
    """A first sync's progress as a share: 42%."""
    if not flow.estimate:
        return "-"
    return f"{100 * _settled(flow) / flow.estimate:.0f}%"


def _settled(flow: FlowProgress) -> int:
    """Records of a first sync done: settled, or matched (done, never written)."""
    return min(flow.settled + flow.matched, flow.estimate or 0)


def print_progress(console: Console, progress: Sequence[FlowProgress]) -> None:
    """Print the final per-flow summary of a run."""
    console.print(progress_table(progress, time.time(), title="run summary"))
