"""How a workspace's state looks: flows' status, dead letters, incidents, the constraint's moves;
and the same as plain JSON values for scripts."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime

from rich.markup import escape

from syncwell.analyze import Move
from syncwell.display import compact
from syncwell.display.fit import Column, FittedTable, Row
from syncwell.measure.slots import wal_size
from syncwell.store import DeadLetter, FlowReport, Incident

__all__ = [
    "clock_text",
    "dead_letter_dict",
    "dead_letters_table",
    "incident_dict",
    "incidents_table",
    "moves_table",
    "report_dict",
    "slots_table",
    "status_table",
]


_TEXT_CAP = 300
"""Free text (an error, a reason) is shown whole, wrapped, up to this many characters."""


def clock_text(at: float | None) -> str:
    """A moment as a UTC date and time to the second, or a dash when there is none."""
    return "-" if at is None else datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _short_clock(at: float) -> str:
    """A moment as a UTC month, day and minute, for a narrow table: 12-07 14:00."""
    return datetime.fromtimestamp(at, UTC).strftime("%m-%d %H:%M")


def _ago(at: float | None, now: float) -> str:
    """How long ago, in its two largest units: 21s ago, 3m 20s ago, 2h 5m ago."""
    return "never" if at is None else f"{compact.duration(now - at)} ago"


def _count(value: int, alarm: bool = False) -> tuple[str, str]:
    """A count in full and compact; in red when `alarm` and not zero."""
    full, short = f"{value:,}", compact.count(value)
    if alarm and value:
        return f"[red]{full}[/red]", f"[red]{short}[/red]"
    return full, short


_STATUS = [
    Column("flow"),
    Column("checkpoint", text=True),
    Column("backlog", right=True),
    Column("last success", "last ok", right=True),
    Column("written", right=True),
    Column("matched", right=True),
    Column("retries", right=True),
    Column("errors 24h", "err 24h", right=True),
    Column("dead", right=True),
    Column("drift", text=True),
    Column("last error", text=True),
]


def status_table(reports: Sequence[FlowReport], now: float | None = None) -> FittedTable:
    """A row per flow: checkpoint, backlog, last success, retries, dead letters, drift and
    the last error (stacked in a narrow terminal: display/fit.py)."""
    now = time.time() if now is None else now
    rows = []
    for report in reports:
        mark = report.checkpoint or {}
        where = str(mark.get("cursor") or mark.get("since") or mark.get("after") or "-")
        checkpoint = escape(f"{mark.get('phase', 'not started')}: {where}")
        cells = [
            (escape(report.flow), escape(report.flow)),
            (checkpoint, checkpoint),
            _count(report.backlog),
            (_ago(report.last_success_at, now),) * 2,
            _count(report.written),
            _count(report.matched),
            _count(report.retries),
            _count(report.failures_24h, alarm=True),
            _count(report.dead_letters, alarm=True),
            (_drift(report), _drift(report)),
            _last_error(report, now),
        ]
        rows.append(Row(full=[full for full, _ in cells], narrow=[short for _, short in cells]))
    return FittedTable(_STATUS, rows, title="flows")


def _drift(report: FlowReport) -> str:
    """Of the written records read back, how many came back different, and which fields."""
    found = report.verification
    if found is None:
        return "-"
    if not found.drifted:
        return f"0 of {found.verified:,}"
    fields = escape(", ".join(drift.field for drift in found.fields[:3]))
    gone = f", {found.missing:,} gone" if found.missing else ""
    return f"[red]{found.drifted:,} of {found.verified:,}{gone}[/red] {fields}".rstrip()


def _last_error(report: FlowReport, now: float) -> tuple[str, str]:
    if not report.last_failure:
        return "-", "-"
    line = escape(report.last_failure.splitlines()[0][:_TEXT_CAP])
    return (f"{_ago(report.last_failure_at, now)}: {line}",) * 2


_SLOTS = [
    Column("flow"),
    Column("WAL kept", right=True),
    Column("behind", right=True),
    Column("measured"),
]


def slots_table(reports: Sequence[FlowReport], now: float | None = None) -> FittedTable | None:
    """A row per `mode: cdc` flow whose replication slot a run measured: the most WAL it
    kept and how far behind its confirmed position was, in the newest minute measured
    (measure/slots.py); None when no flow has one."""
    now = time.time() if now is None else now
    rows = []
    for report in reports:
        if report.slot_retained_bytes is None:
            continue
        behind = "-" if report.slot_retained_s is None else compact.duration(report.slot_retained_s)
        cells = [
            (escape(report.flow),) * 2,
            (wal_size(report.slot_retained_bytes),) * 2,
            (behind,) * 2,
            (_ago(report.slot_measured_at, now),) * 2,
        ]
        rows.append(Row(full=[full for full, _ in cells], narrow=[short for _, short in cells]))
    return FittedTable(_SLOTS, rows, title="replication slots") if rows else None


def report_dict(report: FlowReport) -> dict[str, object]:
    """A report as plain JSON values."""
    return asdict(report)


_LETTERS = [
    Column("id", right=True),
    Column("flow"),
    Column("key"),
    Column("op"),
    Column("status"),
    Column("when"),
    Column("reason", text=True),
]


def dead_letters_table(letters: Sequence[DeadLetter]) -> FittedTable:
    """A row per dead letter, with the reason it was refused."""
    rows = []
    for letter in letters:
        reason = escape(letter.reason.splitlines()[0][:_TEXT_CAP]) if letter.reason else "-"
        cells = [
            (str(letter.id),) * 2,
            (escape(letter.flow),) * 2,
            (escape(letter.key),) * 2,
            (letter.op,) * 2,
            (letter.status,) * 2,
            (clock_text(letter.created_at), _short_clock(letter.created_at)),
            (reason, reason),
        ]
        rows.append(Row(full=[full for full, _ in cells], narrow=[short for _, short in cells]))
    return FittedTable(_LETTERS, rows, title="dead letters")


_INCIDENTS = [
    Column("id", right=True),
    Column("integration"),
    Column("flow"),
    Column("cause"),
    Column("opened"),
    Column("resolved in", right=True),
    Column("evidence", text=True),
]


def incidents_table(incidents: Sequence[Incident], now: float | None = None) -> FittedTable:
    """A row per incident: cause, when it opened, how long it took to resolve, the evidence."""
    now = time.time() if now is None else now
    rows = []
    for incident in incidents:
        took, detail = incident.resolve_s, escape(incident.detail[:_TEXT_CAP])
        if took is None:
            resolved = f"[red]open {compact.duration(now - incident.opened_at)}[/red]"
        else:
            resolved = compact.duration(took)
        cells = [
            (str(incident.id),) * 2,
            (escape(incident.integration),) * 2,
            (escape(incident.flow),) * 2,
            (escape(incident.cause),) * 2,
            (clock_text(incident.opened_at), _short_clock(incident.opened_at)),
            (resolved, resolved),
            (detail, detail),
        ]
        rows.append(Row(full=[full for full, _ in cells], narrow=[short for _, short in cells]))
    return FittedTable(_INCIDENTS, rows, title="incidents")


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


_MOVES = [Column("when"), Column("from"), Column("to"), Column("why", text=True)]


def moves_table(moves: Sequence[Move]) -> FittedTable | str:
    """A row per move of the constraint: when, from where to where, and why."""
    if not moves:
        return "no analyses yet: run `syncwell constraint` (each run is kept)"
    rows = []
    for move in moves:
        cells = [
            datetime.fromtimestamp(move.at, UTC).strftime("%Y-%m-%d %H:%M"),
            escape(_place(move.before, move.before_reason)),
            escape(_place(move.after, move.after_reason)),
            escape(move.why),
        ]
        rows.append(Row(full=cells, narrow=cells))
    return FittedTable(_MOVES, rows, title="how the constraint moved")


def _place(integration: str | None, reason: str | None) -> str:
    return "none" if integration is None else f"{integration} ({reason})"
