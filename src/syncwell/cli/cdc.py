"""`syncwell cdc status|drop|reset`: the replication slots of the workspace's `mode: cdc` flows.

A slot keeps WAL on the source's disk until it is read or dropped, even while syncwell is
stopped; a flow that is no longer wanted must have its slot dropped (docs/cdc.md).
"""

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
from syncwell.engine.capture import cdc_flows, drop_slot, reset_capture, slot_reports
from syncwell.measure.slots import wal_size
from syncwell.workspace import Workspace

__all__ = ["cdc_app"]

cdc_app = SyncwellTyper(
    no_args_is_help=True,
    help="The replication slots of mode: cdc flows: status (WAL each keeps), drop (remove "
    "one), reset (start a flow over from a new snapshot).",
)
app.add_typer(cdc_app, name="cdc")


@cdc_app.command("status")
def cdc_status(workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonOption = False) -> None:
    """Each CDC flow's slot: whether it exists and streams, and the WAL it keeps."""
    reports = carried(slot_reports(load(workspace)))
    if as_json:
        document = {
            flow: {"slot": slot, **dataclasses.asdict(report)}
            for flow, (slot, report) in reports.items()
        }
        out.print_json(json.dumps(document))
        return
    if not reports:
        out.print("no flow of this workspace has mode: cdc")
        return
    table = Table()
    for column in ("flow", "slot", "state", "WAL kept", "not confirmed"):
        table.add_column(column, justify="right" if "WAL" in column or "not" in column else "left")
    for flow, (slot, report) in reports.items():
        state = ("streaming" if report.active else "idle") if report.exists else "none yet"
        table.add_row(
            flow, slot, state, wal_size(report.retained_bytes), wal_size(report.unconfirmed_bytes)
        )
    out.print(table)


@cdc_app.command("drop")
def cdc_drop(
    flow: Annotated[str, typer.Argument(help="The mode: cdc flow whose slot to drop.")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Drop a CDC flow's replication slot, and the publication syncwell made for it, so the
    source stops keeping WAL for it. Stop the run first. To stream the flow again, run
    `syncwell cdc reset FLOW`: it starts over from a new snapshot."""
    loaded = load(workspace)
    _asked(loaded, flow, f"drop the replication slot of flow '{flow}'", yes=yes)
    slot, dropped = carried(drop_slot(loaded, loaded.flows[flow]))
    out.print(
        f"dropped replication slot {slot}"
        if dropped
        else f"no replication slot {slot}: nothing to drop",
        highlight=False,
    )


@cdc_app.command("reset")
def cdc_reset(
    flow: Annotated[str, typer.Argument(help="The mode: cdc flow to start over.")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Start a CDC flow over from a new snapshot, after its slot was lost: drops the slot (if
    any) and clears the flow's checkpoint. The next run takes a new snapshot in a new slot
    and deletes from the destination the rows the snapshot no longer finds. Stop the run
    first."""
    loaded = load(workspace)
    _asked(loaded, flow, f"start flow '{flow}' over from a new snapshot", yes=yes)
    slot, dropped = carried(reset_capture(loaded, loaded.flows[flow]))
    gone = f"dropped replication slot {slot}" if dropped else f"no replication slot {slot}"
    out.print(
        f"{gone}; cleared the checkpoint of flow '{flow}': the next `syncwell run` takes a "
        "new snapshot and deletes from the destination the rows it no longer finds",
        highlight=False,
    )


def _asked(loaded: Workspace, flow: str, question: str, *, yes: bool) -> None:
    """Exit 1 unless `flow` is a CDC flow of the workspace and the user agrees to
    `question` (or said --yes)."""
    names = [found.name for found in cdc_flows(loaded)]
    if flow not in names:
        err.print(
            f"[red]no mode: cdc flow '{flow}' in this workspace[/red] (its CDC flows: "
            f"{', '.join(names) or 'none'})",
            highlight=False,
        )
        raise typer.Exit(1)
    if not yes:
        if not sys.stdin.isatty():
            err.print(f"would {question}; add --yes to do it without a question")
            raise typer.Exit(1)
        typer.confirm(f"{question[0].upper()}{question[1:]}?", abort=True)
