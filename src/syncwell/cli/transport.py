"""`syncwell transport status|reset`: the workspace's NATS stream, without a `nats` CLI."""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from syncwell.cli.commands import SyncwellTyper
from syncwell.cli.common import (
    DEFAULT_WORKSPACE,
    JsonOption,
    WorkspaceOption,
    app,
    carried,
    err,
    load,
    out,
)
from syncwell.transport.admin import StreamReport, delete_stream, stream_report
from syncwell.workspace import Workspace

__all__ = ["transport_app"]

transport_app = SyncwellTyper(
    no_args_is_help=True,
    help="The workspace's NATS stream: status (what waits, per flow), reset (start it over).",
)
app.add_typer(transport_app, name="transport")


@transport_app.command("status")
def transport_status(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonOption = False
) -> None:
    """The stream: its partitions, ack wait, messages waiting per flow, and its consumers."""
    report = _report(load(workspace))
    if as_json:
        out.print_json(json.dumps(_report_dict(report)))
        return
    if not report.exists:
        out.print(
            f"no stream {report.stream} at {report.url} yet: the first `syncwell run` or "
            "`syncwell worker` makes it",
            highlight=False,
        )
        return
    waits = ", ".join(f"{s:g}s" for s in report.ack_wait_s) or "- (no consumer yet)"
    out.print(
        f"stream {report.stream} at {report.url}: {report.messages:,} message(s) waiting "
        f"({report.bytes:,} bytes); partitions {report.partitions or '?'}; ack wait {waits}",
        highlight=False,
    )
    out.print(_flows_table(report))
    for token, count in report.others.items():
        out.print(f"[yellow]{count:,} message(s) of '{token}', no flow of this workspace[/yellow]")


@transport_app.command("reset")
def transport_reset(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    drop_waiting: Annotated[
        bool,
        typer.Option(
            "--drop-waiting",
            help="Delete the stream even though messages wait in it: those changes are never "
            "delivered (a resync reads them again).",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Delete the workspace's stream and its consumers, to change `partitions` or
    `ack_wait_s`: stop intake and every worker first. The next run or worker makes it anew."""
    loaded = load(workspace)
    report = _report(loaded)
    if not report.exists:
        _done(as_json, report, deleted=False, text=f"no stream {report.stream}: nothing to reset")
        return
    dropped = {flow: n for flow, n in {**report.waiting, **report.others}.items() if n}
    if report.messages and not drop_waiting:
        err.print(
            f"[red]stream {report.stream} still holds {report.messages:,} message(s) not "
            f"delivered[/red] ({_listed(dropped)}). Let the workers empty it "
            "(`syncwell transport status` shows what waits), or add --drop-waiting to drop "
            "them: those changes are then never delivered unless read again "
            "(`syncwell resync`).",
            highlight=False,
        )
        raise typer.Exit(1)
    pulling = sum(1 for c in report.consumers if c.pulling)
    what = f"delete stream {report.stream} at {report.url}, its {len(report.consumers)} consumer(s)"
    if report.messages:
        what += f" and {report.messages:,} waiting message(s) ({_listed(dropped)})"
    if pulling:
        err.print(
            f"[yellow]workers are pulling from {pulling} partition(s): stop every worker and "
            "`syncwell run` first, or they fail until restarted[/yellow]"
        )
    if not yes:
        if not sys.stdin.isatty():
            err.print(f"would {what}; add --yes to do it without a question", highlight=False)
            raise typer.Exit(1)
        typer.confirm(f"{what[0].upper()}{what[1:]}?", abort=True)
    deleted = carried(delete_stream(loaded))
    _done(
        as_json,
        report,
        deleted=deleted,
        text=f"deleted stream {report.stream}; the next `syncwell run` or `syncwell worker` "
        "makes it with the workspace's settings",
    )


def _report(workspace: Workspace) -> StreamReport:
    return carried(stream_report(workspace))


def _done(as_json: bool, report: StreamReport, *, deleted: bool, text: str) -> None:
    if as_json:
        answer = {"deleted": deleted, "dropped": report.messages if deleted else 0}
        out.print_json(json.dumps(answer | {"stream": _report_dict(report)}))
    else:
        out.print(text, highlight=False)


def _listed(counts: dict[str, int]) -> str:
    return ", ".join(f"{flow}: {count:,}" for flow, count in counts.items())


def _flows_table(report: StreamReport) -> Table:
    """A row per flow: what waits, what a worker holds, and how many partitions workers pull."""
    table = Table(title="per flow")
    for column in ("flow", "waiting", "held", "redelivered", "consumers", "pulled by workers"):
        table.add_column(column, justify="left" if column == "flow" else "right")
    for flow, waiting in report.waiting.items():
        own = [c for c in report.consumers if c.flow == flow]
        table.add_row(
            flow,
            f"{waiting:,}",
            f"{sum(c.held for c in own):,}",
            f"{sum(c.redelivered for c in own):,}",
            f"{len(own)} of {report.partitions or '?'}",
            f"{sum(1 for c in own if c.pulling)}",
        )
    return table


def _report_dict(report: StreamReport) -> dict[str, object]:
    return dataclasses.asdict(report) | {"ack_wait_s": report.ack_wait_s}
