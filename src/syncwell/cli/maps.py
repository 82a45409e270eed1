"""`syncwell check` and `syncwell map`: the workspace, validated and drawn."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from syncwell.cli.common import (
    DEFAULT_WORKSPACE,
    WorkspaceOption,
    app,
    err,
    load,
    out,
)
from syncwell.engine import admin
from syncwell.engine.slots import orphan_slots
from syncwell.map import MapFormat, render_map, render_text
from syncwell.measure.slots import wal_size
from syncwell.workspace import Mode, Workspace, workspace_warnings


@app.command()
def check(workspace: WorkspaceOption = DEFAULT_WORKSPACE) -> None:
    """Validate the workspace file; print its map, or every mistake with its line (exit 2).

    Then warn of what could be missed without an error: deletes no read would see, intake
    nobody verifies; and of replication slots syncwell made in its postgres systems that no
    flow uses any more (they keep WAL until dropped). `syncwell probe` checks the rest.
    """
    loaded = load(workspace)
    out.print(render_text(loaded), highlight=False)
    for warning in workspace_warnings(loaded):
        out.print(f"[yellow]warning[/] {escape(warning.where)}: {escape(warning.message)}")
    out.print(
        "[dim]`syncwell probe` checks the live systems: credentials, tables, keys and "
        "incremental filters.[/]"
    )
    _warn_orphan_slots(loaded)


def _warn_orphan_slots(loaded: Workspace) -> None:
    """Warn of each `syncwell_...` slot in the workspace's postgres databases that no flow
    uses, with the SQL that drops it; say which databases could not be looked at when the
    workspace streams from PostgreSQL (`mode: cdc`)."""
    orphans, unreachable = asyncio.run(orphan_slots(loaded))
    for orphan in orphans:
        state = "in use by another process" if orphan.active else "idle"
        out.print(
            f"[yellow]warning[/] systems.{escape(orphan.system)}: replication slot "
            f"{escape(orphan.slot)} ({state}, keeps {wal_size(orphan.retained_bytes)} of WAL) "
            "is one syncwell made, and no flow of this workspace uses it: it keeps WAL until "
            f"dropped. If it is no other workspace's, drop it: {escape(orphan.drop_sql())}"
        )
    if unreachable and any(flow.mode is Mode.CDC for flow in loaded.flows.values()):
        names = ", ".join(f"{name} ({reason})" for name, reason in unreachable.items())
        out.print(f"[dim]replication slots not looked for in: {escape(names)}[/]")


@app.command("map")
def map_(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    fmt: Annotated[
        MapFormat,
        typer.Option("--format", "-f", help="text, mermaid, dot (Graphviz), json or svg."),
    ] = "text",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the map to this file instead of printing it."),
    ] = None,
) -> None:
    """Draw the workspace: systems, flows with their mode and health, and the constraint.

    The newest `syncwell constraint` analysis colours each flow and highlights the constraint.
    """
    loaded = load(workspace)
    highlight, health = asyncio.run(admin.latest_constraint(loaded))
    drawing = render_map(loaded, fmt, highlight=highlight, health=health)
    if output is not None:
        try:
            output.write_text(drawing, encoding="utf-8")
        except OSError as error:  # a folder that is not there, a file we may not write
            err.print(
                f"cannot write the map to {output}: {error.strerror}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(1) from None
        return
    # Plain output: rich would wrap long lines and read brackets as markup.
    typer.echo(drawing, nl=False)
