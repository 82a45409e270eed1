"""What a workspace's state says: `status`, `dlq`, `incidents` and `constraint`."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from typing import Annotated, Literal

import typer

from syncwell import analyze, display
from syncwell.cli.common import (
    DEFAULT_WORKSPACE,
    JsonOption,
    WorkspaceOption,
    app,
    dlq_app,
    err,
    load,
    out,
)
from syncwell.cli.names import require_known
from syncwell.engine import admin
from syncwell.engine.changetimes import lag_clocks
from syncwell.store import FlowReport
from syncwell.transport.admin import with_stream
from syncwell.workspace import Workspace
from syncwell.workspace.durations import parse_duration


@app.command()
def status(workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonOption = False) -> None:
    """Per flow: checkpoint, backlog, last success, retries and dead letters."""
    loaded = load(workspace)
    reports = asyncio.run(_reports(loaded))
    if as_json:
        clocks = lag_clocks(loaded)  # where each flow's freshness lag starts
        answer = [display.report_dict(r) | {"lag_clock": clocks[r.flow]} for r in reports]
        out.print_json(json.dumps(answer))
    else:
        out.print(display.status_table(reports))
        slots = display.slots_table(reports)
        if slots is not None:
            out.print(slots)
        _print_stream(reports)


async def _reports(workspace: Workspace) -> list[FlowReport]:
    """Each flow's report; with a transport, with what waits in its stream too."""
    return await with_stream(workspace, await admin.flow_reports(workspace))


def _print_stream(reports: list[FlowReport]) -> None:
    """What waits in the transport's stream, which the backlog (the journal's) leaves out;
    or that it could not be read, rather than a silent 0."""
    if reports and reports[0].stream_error:
        err.print(
            f"[red]the stream could not be read, so what waits there for the workers is not "
            f"counted above:[/red] {reports[0].stream_error}",
            highlight=False,
        )
    elif any(r.in_stream is not None for r in reports):
        waiting = ", ".join(f"{r.flow} {r.in_stream or 0:,}" for r in reports)
        out.print(
            f"waiting in the stream for workers, beside the backlog (message(s), each part of "
            f"a read): {waiting}",
            highlight=False,
        )


@dlq_app.command("list")
def dlq_list(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    flow: Annotated[str | None, typer.Option(help="Only this flow.")] = None,
    state: Annotated[
        Literal["open", "replayed", "discarded", "all"],
        typer.Option("--status", help="Which dead letters."),
    ] = "open",
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List dead letters, newest first."""
    loaded = load(workspace)
    require_known("flow", [flow] if flow else [], list(loaded.flows), "--flow")
    letters = asyncio.run(
        admin.list_dead_letters(
            loaded, flow=flow, status=None if state == "all" else state, limit=limit
        )
    )
    if as_json:
        out.print_json(json.dumps([display.dead_letter_dict(d) for d in letters]))
    else:
        out.print(display.dead_letters_table(letters))


@dlq_app.command("show")
def dlq_show(
    dead_letter_id: Annotated[int, typer.Argument(help="The dead letter's id (see dlq list).")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Show one dead letter: its record, the reason and the attempts."""
    letter = asyncio.run(admin.show_dead_letter(load(workspace), dead_letter_id))
    if letter is None:
        err.print(f"no dead letter {dead_letter_id}; `syncwell dlq list --status all` lists them")
        raise typer.Exit(1)
    out.print_json(json.dumps(display.dead_letter_dict(letter)))


@dlq_app.command("replay")
def dlq_replay(
    ids: Annotated[list[int], typer.Argument(help="Dead letter ids to send again.")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Put dead letters back in their flow's journal (fix the cause first)."""
    moved = asyncio.run(admin.replay(load(workspace), ids))
    _report_resolved("replayed", ids, moved)
    if moved:
        out.print("the next `syncwell run` delivers them")


@dlq_app.command("discard")
def dlq_discard(
    ids: Annotated[list[int], typer.Argument(help="Dead letter ids to give up on.")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Give up on dead letters for good."""
    _report_resolved("discarded", ids, asyncio.run(admin.discard(load(workspace), ids)))


def _report_resolved(verb: str, asked: list[int], done: list[int]) -> None:
    out.print(f"{verb} {len(done)} dead letter(s): {', '.join(map(str, done)) or '-'}")
    skipped = sorted(set(asked) - set(done))
    if skipped:
        err.print(f"not open (or unknown), left alone: {', '.join(map(str, skipped))}")
        raise typer.Exit(1)


@app.command()
def incidents(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    since: Annotated[
        str, typer.Option(help="How far back, as a duration (7d, 24h). Open ones always show.")
    ] = "7d",
    as_json: JsonOption = False,
) -> None:
    """Incidents: when an integration was unhealthy, why, and how long it took to resolve."""
    try:
        window = parse_duration(since).total_seconds()
    except ValueError as error:
        err.print(f"[red]--since {since!r}[/red]: {error}")
        raise typer.Exit(2) from error
    found = asyncio.run(admin.list_incidents(load(workspace), since=time.time() - window))
    if as_json:
        out.print_json(json.dumps([display.incident_dict(incident) for incident in found]))
        return
    out.print(display.incidents_table(found))


@app.command()
def constraint(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    window: Annotated[
        str, typer.Option(help="How far back to look, as a duration (24h, 7d).")
    ] = "24h",
    what_if: Annotated[
        list[str] | None,
        typer.Option(
            "--what-if",
            help="Analyse a changed model instead: volume=2x, FLOW.interval=1m, "
            "FLOW.mode=realtime, FLOW.mode=cdc (repeat for several).",
        ),
    ] = None,
    history: Annotated[
        bool, typer.Option("--history", help="Show how the constraint moved over time.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Name the integration that limits the workflows now, with its evidence and advice."""
    loaded = load(workspace)
    # A what-if names a flow before its setting (contacts.interval=1m): that name is checked
    # as every command checks one, with the close names.
    named = [text.partition("=")[0].strip().rpartition(".")[0] for text in what_if or ()]
    require_known("flow", [name for name in named if name], list(loaded.flows), "--what-if")
    if history:
        moves = analyze.moves(asyncio.run(admin.analyses(loaded)))
        if as_json:
            out.print_json(json.dumps([dataclasses.asdict(move) for move in moves]))
        else:
            out.print(display.moves_table(moves))
        return
    try:
        window_s = parse_duration(window).total_seconds()
        found = asyncio.run(admin.constraint(loaded, window_s=window_s, what_if=what_if or ()))
    except ValueError as error:  # a bad --window or --what-if (WhatIfError is a ValueError)
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from error
    if as_json:
        out.print_json(analyze.analysis_json(found))
        return
    display.print_report(out, analyze.analysis_text(found))  # wrapped in a terminal only
