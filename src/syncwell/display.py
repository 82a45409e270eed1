"""How runs, statuses and dead letters look in a terminal (rich) and to scripts (JSON)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime

from rich.console import Console
from rich.progress_bar import ProgressBar
from rich.table import Table

from syncwell.analyze import Move
from syncwell.engine import FlowProgress
from syncwell.store import DeadLetter, FlowReport, Incident

__all__ = [
    "clock_text",
    "dead_letter_dict",
    "dead_letters_table",
    "moves_table",
    "progress_table",
    "report_dict",
    "status_table",
]


def _ago(at: float | None, now: float) -> str:
    if at is None:
        return "never"
    seconds = max(0.0, now - at)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit} ago"
    return f"{seconds:.0f}s ago"


def clock_text(at: float | None) -> str:
    """A moment as a UTC date and time to the second, or a dash when there is none."""
    return "-" if at is None else datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def progress_table(progress: Sequence[FlowProgress], now: float, title: str = "") -> Table:
    """A row per flow: progress of a first sync, read, written, matched, rate, ETA, retries,
    dead.

    Runs with webhooks or two-way flows also show what came by webhook, what reconciliation
    found the webhooks had missed, and the echoes and stale changes not written.
    """
    table = Table(title=title or None, expand=False)
    # Columns that say nothing in this run are left out, so the table fits a laptop's terminal.
    first_sync = any(_bar(flow) != "-" and flow.eta_s(now) is not None for flow in progress)
    matching = any(flow.matched for flow in progress)  # a first sync found equal records
    columns = ["flow", *(["first sync"] if first_sync else []), "read", "written"]
    columns += [*(["matched"] if matching else []), "rows/s", *(["ETA"] if first_sync else [])]
    columns += ["retries", "dead"]
    realtime = any(flow.hooked or flow.missed_by_webhooks for flow in progress)
    skipping = any(flow.echoes or flow.stale or flow.lost_conflicts for flow in progress)
    columns += ["webhooks", "missed"] if realtime else []
    columns += ["echoes", "stale"] if skipping else []
    for column in (*columns, "last error"):
        table.add_column(column, justify="left" if column in ("flow", "last error") else "right")
    for flow in progress:
        eta = flow.eta_s(now)
        cells: list[ProgressBar | str] = [flow.flow, *([_bar(flow)] if first_sync else [])]
        cells += [
            f"{flow.read:,}" + (f" / ~{flow.estimate:,}" if first_sync and flow.estimate else ""),
            f"{flow.written:,}",
            *([f"{flow.matched:,}"] if matching else []),
            f"{flow.rate(now):,.0f}",
        ]
        cells += [("-" if eta is None else f"{eta:,.0f}s")] if first_sync else []
        cells += [f"{flow.retries:,}", f"{flow.dead_lettered:,}"]
        if realtime:
            cells += [f"{flow.hooked:,}", f"{flow.missed_by_webhooks:,}"]
        if skipping:
            cells += [f"{flow.echoes:,}", f"{flow.stale + flow.lost_conflicts:,}"]
        table.add_row(*cells, flow.last_error[:48])
    return table


def _bar(flow: FlowProgress) -> ProgressBar | str:
    if not flow.estimate:
        return "-"
    done = min(flow.settled + flow.matched, flow.estimate)  # matched: done, never written
    return ProgressBar(total=flow.estimate, completed=done, width=20)


def status_table(reports: Sequence[FlowReport], now: float | None = None) -> Table:
    """A row per flow: checkpoint, backlog, last success, retries, dead letters."""
    now = time.time() if now is None else now
    table = Table(title="flows")
    columns = ("flow", "checkpoint", "backlog", "last success", "written", "matched", "retries")
    for column in (*columns, "errors 24h", "dead", "drift", "last error"):
        table.add_column(column, justify="left" if column in ("flow", "checkpoint") else "right")
    for report in reports:
        mark = report.checkpoint or {}
        where = str(mark.get("cursor") or mark.get("since") or mark.get("after") or "-")
        table.add_row(
            report.flow,
            f"{mark.get('phase', 'not started')}: {where}"[:48],
            f"{report.backlog:,}",
            _ago(report.last_success_at, now),
            f"{report.written:,}",
            f"{report.matched:,}",
            f"{report.retries:,}",
            f"[red]{report.failures_24h:,}[/red]" if report.failures_24h else "0",
            f"[red]{report.dead_letters:,}[/red]" if report.dead_letters else "0",
            _drift(report),
            _last_error(report, now),
        )
    return table


def _drift(report: FlowReport) -> str:
    """Of the written records read back, how many came back different, and which fields."""
    found = report.verification
    if found is None:
        return "-"
    if not found.drifted:
        return f"0 of {found.verified:,}"
    fields = ", ".join(drift.field for drift in found.fields[:3])
    gone = f", {found.missing:,} gone" if found.missing else ""
    return f"[red]{found.drifted:,} of {found.verified:,}{gone}[/red] {fields}".rstrip()


def _last_error(report: FlowReport, now: float) -> str:
    if not report.last_failure:
        return "-"
    return f"{_ago(report.last_failure_at, now)}: {report.last_failure.splitlines()[0][:60]}"


def report_dict(report: FlowReport) -> dict[str, object]:
    """A report as plain JSON values."""
    return asdict(report)


def dead_letters_table(letters: Sequence[DeadLetter]) -> Table:
    """A row per dead letter."""
    table = Table(title="dead letters")
    for column in ("id", "flow", "key", "op", "status", "when", "reason"):
        table.add_column(column)
    for letter in letters:
        table.add_row(
            str(letter.id),
            letter.flow,
            letter.key,
            letter.op,
            letter.status,
            clock_text(letter.created_at),
            letter.reason.splitlines()[0][:80],
        )
    return table


def incidents_table(incidents: Sequence[Incident], now: float | None = None) -> Table:
    """A row per incident: cause, when it opened, how long it took to resolve, the evidence."""
    now = time.time() if now is None else now
    table = Table(title="incidents")
    for column in ("id", "integration", "flow", "cause", "opened", "resolved in", "evidence"):
        table.add_column(column, justify="right" if column == "resolved in" else "left")
    for incident in incidents:
        took = incident.resolve_s
        table.add_row(
            str(incident.id),
            incident.integration,
            incident.flow,
            incident.cause,
            clock_text(incident.opened_at),
            f"[red]open {now - incident.opened_at:,.0f}s[/red]"
            if took is None
            else f"{took:,.0f}s",
            incident.detail[:80],
        )
    return table


def incident_dict(incident: Incident) -> dict[str, object]:
    """An incident as plain JSON values, with its time to resolve."""
    return {**asdict(incident), "resolve_s": incident.resolve_s}


def dead_letter_dict(letter: DeadLetter) -> dict[str, object]:
    """A dead letter as plain JSON values, its record's data included."""
    values = asdict(letter)
    values.pop("batch")
    values["data"] = {key: _plain(value) for key, value in letter.data.items()}
    return values


def _plain(value: object) -> object:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return str(value)


def print_progress(console: Console, progress: Sequence[FlowProgress]) -> None:
    """Print the final per-flow summary of a run."""
    console.print(progress_table(progress, time.time(), title="run summary"))


def moves_table(moves: Sequence[Move]) -> Table | str:
    """A row per move of the constraint: when, from where to where, and why."""
    if not moves:
        return "no analyses yet: run `syncwell constraint` (each run is kept)"
    table = Table(title="how the constraint moved")
    for column in ("when", "from", "to", "why"):
        table.add_column(column)
    for move in moves:
        table.add_row(
            datetime.fromtimestamp(move.at, UTC).strftime("%Y-%m-%d %H:%M"),
            _place(move.before, move.before_reason),
            _place(move.after, move.after_reason),
            move.why,
        )
    return table


def _place(integration: str | None, reason: str | None) -> str:
    return "none" if integration is None else f"{integration} ({reason})"
