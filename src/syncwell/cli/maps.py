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
from syncwell.map import MapFormat, render_map, render_text
from syncwell.workspace import workspace_warnings


@app.command()
def check(workspace: WorkspaceOption = DEFAULT_WORKSPACE) -> None:
    """Validate the workspace file; print its map, or every mistake with its line (exit 2).

    Then warn of what could be missed without an error: deletes no read would see, intake
    nobody verifies. It reads the file only; `syncwell probe` connects.
    """
    loaded = load(workspace)
    out.print(render_text(loaded), highlight=False)
    for warning in workspace_warnings(loaded):
        out.print(f"[yellow]warning[/] {escape(warning.where)}: {escape(warning.message)}")
    out.print(
        "[dim]`syncwell probe` checks the live systems: credentials, tables, keys and "
        "incremental filters.[/]"
    )


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
