"""`syncwell plan` and `syncwell resync`: what a flow's first sync will write, before it does."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Literal

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from syncwell.cli.common import (
    DEFAULT_WORKSPACE,
    JsonOption,
    WorkspaceOption,
    app,
    configure_logging,
    err,
    load,
    out,
)
from syncwell.cli.names import require_known
from syncwell.engine import admin
from syncwell.engine.plan import FlowPlan, PlanProgress, plan_workspace

FlowOption = Annotated[
    list[str] | None, typer.Option("--flow", help="Only this flow (repeat for several).")
]


@app.command()
def plan(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    flow: FlowOption = None,
    everything: Annotated[
        bool,
        typer.Option(
            "--all", help="Compare flows past their first sync too (what a resync would write)."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Say what each new flow's first sync will write: creates, updates, deletes, unchanged.

    Reads each new flow's source from the beginning and its destination's records, and
    compares them as the first sync will. Writes nothing to any system and moves no
    checkpoint. Exit 1 when a flow could not be read.
    """
    configure_logging(verbose=False)
    loaded = load(workspace)
    require_known("flow", flow or (), list(loaded.flows), "--flow")
    with _progress(live=err.is_terminal and not as_json) as heard:
        plans = asyncio.run(
            plan_workspace(loaded, flows=flow or (), everything=everything, progress=heard)
        )
    if as_json:
        out.print_json(json.dumps([dataclasses.asdict(found) for found in plans]))
    else:
        out.print(_table(plans))
    if any(found.state == "failed" for found in plans):
        raise typer.Exit(1)


@app.command()
def resync(
    flows: Annotated[list[str], typer.Argument(help="The flows to compare again.")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Make each flow's next run a first sync again: it reads its source from the beginning,
    compares it with the destination and writes only what differs.

    Run it while the flow is stopped: it clears the flow's checkpoint. Changes already in the
    journal are still delivered. `syncwell plan --all --flow FLOW` says what it would write.
    """
    loaded = load(workspace)
    require_known("flow", flows, list(loaded.flows), "FLOWS")
    asyncio.run(admin.resync(loaded, flows))
    out.print(
        f"the next `syncwell run` compares {', '.join(flows)} with the destination and writes "
        "only what differs",
        highlight=False,
    )


@contextmanager
def _progress(*, live: bool) -> Iterator[PlanProgress | None]:
    """Progress of the long reads, on stderr (stdout stays the plan's)."""
    if not live:
        yield None
        return
    tasks: dict[tuple[str, str], TaskID] = {}
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as shown:

        def heard(flow: str, stage: Literal["listing", "reading"], count: int) -> None:
            what = "destination records listed" if stage == "listing" else "source records read"
            key = (flow, stage)
            text = f"{escape(flow)}: {count:,} {what}"
            if key not in tasks:
                tasks[key] = shown.add_task(text, total=None)
            shown.update(tasks[key], description=text)

        yield heard


def _table(plans: list[FlowPlan]) -> Table:
    """A row per flow; counts a plan cannot tell are a dash."""
    table = Table(title="what the first syncs will write")
    table.add_column("flow", no_wrap=True)
    table.add_column("state")
    for column in ("create", "update", "delete", "unchanged", "only in destination"):
        table.add_column(column, justify="right")
    table.add_column("note", overflow="fold")
    for found in plans:
        creates = _count(found.creates)
        if found.creates is None and found.writes is not None:
            creates = f"{found.writes - (found.deletes or 0):,}?"  # creates or updates: unknown
        table.add_row(
            f"{escape(found.flow)}\n[dim]{escape(found.source)} -> {escape(found.destination)}[/]",
            found.state,
            creates,
            _count(found.updates),
            _count(found.deletes),
            _count(found.unchanged),
            _count(found.only_in_destination),
            escape(found.note),
        )
    return table


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"
