"""`syncwell tickets`: import the helpdesk's tickets and count them per integration."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from syncwell.analyze.tickets import TicketCounts, ticket_dict
from syncwell.cli.common import DEFAULT_WORKSPACE, JsonOption, WorkspaceOption, app, err, load, out
from syncwell.engine.tickets import tickets_now
from syncwell.workspace.durations import format_duration, parse_duration


def _table(counts: list[TicketCounts]) -> Table:
    table = Table("integration", "opened", "still open", "resolved", "median time to resolve")
    for row in counts:
        median = row.median_resolve_s
        shown = "-" if median is None else format_duration(timedelta(seconds=round(median)))
        table.add_row(
            row.integration, str(row.opened), str(row.still_open), str(row.resolved), shown
        )
    return table


@app.command()
def tickets(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    window: Annotated[
        str, typer.Option(help="How far back to count, as a duration (7d, 24h).")
    ] = "7d",
    read: Annotated[
        bool, typer.Option("--read/--no-read", help="Import the tickets first (default yes).")
    ] = True,
    as_json: JsonOption = False,
) -> None:
    """Support tickets per integration: import them from `tickets:`, then count them."""
    loaded = load(workspace)
    if loaded.tickets is None:
        err.print("no `tickets:` section in the workspace; see docs/workspace.md (tickets)")
        raise typer.Exit(2)
    try:
        window_s = parse_duration(window).total_seconds()
    except ValueError as error:
        err.print(f"[red]--window {window!r}[/red]: {error}")
        raise typer.Exit(2) from error
    try:
        done, counts = asyncio.run(tickets_now(loaded, window_s=window_s, read=read))
    except (OSError, ValueError) as error:
        err.print(f"[red]tickets could not be read:[/red] {error}", highlight=False)
        raise typer.Exit(1) from error
    if as_json:
        answer = {
            "read": done.read,
            "skipped": list(done.skipped),
            "window_s": window_s,
            "integrations": [ticket_dict(row) for row in counts],
        }
        out.print_json(json.dumps(answer))
        return
    for reason in done.skipped:
        err.print(f"[yellow]skipped:[/yellow] {reason}", highlight=False)
    if read:
        out.print(f"{done.read} tickets read")
    out.print(_table(counts))
