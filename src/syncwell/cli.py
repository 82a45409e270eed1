"""The `syncwell` command. Thin: each command parses, calls one function, prints."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Literal

import structlog
import typer
from rich.console import Console
from rich.live import Live

from syncwell import analyze, display
from syncwell.engine import Engine, FlowProgress, admin
from syncwell.errors import StoreError, WorkspaceError
from syncwell.map import MapFormat, render_map, render_text
from syncwell.measure.tracing import configure_from_environment
from syncwell.workspace import Workspace, load_workspace
from syncwell.workspace.durations import parse_duration

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="syncwell: keep your core system in sync with the tools your customers live in.",
)
dlq_app = typer.Typer(no_args_is_help=True, help="Dead letters: list, show, replay, discard.")
app.add_typer(dlq_app, name="dlq")

out = Console()
err = Console(stderr=True)

WorkspaceOption = Annotated[
    Path,
    typer.Option(
        "--workspace", "-w", envvar="SYNCWELL_WORKSPACE", help="The workspace file to use."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
DEFAULT_WORKSPACE = Path("syncwell.yaml")


def main() -> None:
    """Entry point of the console script."""
    try:
        app()
    except StoreError as error:
        err.print(f"[red]state store:[/red] {error}", highlight=False)
        sys.exit(1)


def _load(path: Path) -> Workspace:
    try:
        return load_workspace(path)
    except WorkspaceError as error:
        err.print(f"[red]invalid workspace[/red]\n{error}", highlight=False)
        raise typer.Exit(2) from error


def _logging(verbose: bool) -> None:
    level = logging.INFO if verbose else logging.WARNING
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # Looked up at each log call, so a replaced sys.stderr (tests, rich's Live) is honoured.
        logger_factory=lambda *_: structlog.PrintLogger(sys.stderr),
    )


@app.command()
def check(workspace: WorkspaceOption = DEFAULT_WORKSPACE) -> None:
    """Validate the workspace file; print its map, or every mistake with its line (exit 2)."""
    out.print(render_text(_load(workspace)), highlight=False)


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
    """Draw the workspace: its systems, its flows with mode and SLO, and its workflows; the
    newest `syncwell constraint` analysis colours each flow and highlights the constraint."""
    loaded = _load(workspace)
    highlight, health = asyncio.run(admin.latest_constraint(loaded))
    drawing = render_map(loaded, fmt, highlight=highlight, health=health)
    if output is not None:
        output.write_text(drawing, encoding="utf-8")
        return
    # Plain output: rich would wrap long lines and read brackets as markup.
    typer.echo(drawing, nl=False)


@app.command()
def run(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    once: Annotated[
        bool, typer.Option("--once", help="Read every flow once, deliver it all, then exit.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log each step.")] = False,
    as_json: JsonOption = False,
    host: Annotated[str, typer.Option(help="Address the HTTP API listens on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="Port of the HTTP API (webhooks at /hooks/<system>).")
    ] = 8100,
    serve: Annotated[
        bool | None,
        typer.Option(
            "--serve/--no-serve",
            help="Serve the HTTP API (webhooks, /metrics, health). Default: when a system "
            "sends webhooks and the run is not --once.",
        ),
    ] = None,
) -> None:
    """Run the workspace's flows until stopped (Ctrl-C or SIGTERM stop it cleanly).

    The HTTP API listens at http://HOST:PORT: webhooks at /hooks/<system>, Prometheus at
    /metrics, and /healthz, /readyz.
    """
    _logging(verbose)
    configure_from_environment()  # traces only when OTEL_TRACES_EXPORTER asks for them
    engine = Engine(_load(workspace))
    if serve is None:
        serve = bool(engine.webhooks.intakes) and not once
    address = (host, port) if serve else None
    asyncio.run(_run(engine, once=once, live=out.is_terminal and not as_json, serve=address))
    progress = list(engine.progress.values())
    if as_json:
        out.print_json(json.dumps([_progress_dict(p) for p in progress]))
    else:
        display.print_progress(out, progress)
    _fail_if_gave_up(progress)


def _fail_if_gave_up(progress: list[FlowProgress]) -> None:
    failed = [p for p in progress if p.gave_up]
    for flow in failed:
        err.print(
            f"[red]{flow.flow} gave up[/red] after repeated failures: {flow.last_error}\n"
            "  Its changes wait in the journal; fix the cause and run again.",
            highlight=False,
        )
    if failed:
        raise typer.Exit(1)


async def _run(
    engine: Engine,
    *,
    once: bool,
    live: bool,
    serve: tuple[str, int] | None = None,
    stop_after_s: float | None = None,
) -> bool:
    """Run the engine, showing progress when `live`; return whether a signal stopped it.

    With `serve` (host, port), the HTTP API runs beside it and stops after it; with
    `stop_after_s`, the run stops cleanly after that long.
    """
    stop, signalled = asyncio.Event(), asyncio.Event()

    def stop_on_signal() -> None:
        signalled.set()
        stop.set()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop_on_signal)
    if stop_after_s is not None:
        loop.call_later(stop_after_s, stop.set)
    runner = asyncio.create_task(engine.run(once=once, stop=stop))
    async with _serving(engine, serve):
        await _watch(runner, live=live, flows=list(engine.progress.values()))
    return signalled.is_set()


@contextlib.asynccontextmanager
async def _serving(engine: Engine, serve: tuple[str, int] | None) -> AsyncIterator[None]:
    if serve is None:
        yield
        return
    from syncwell.api import ApiServer, create_app  # only runs that take webhooks pay for it

    halt = asyncio.Event()
    server = ApiServer(create_app(engine), *serve)
    serving = asyncio.create_task(server.serve(halt))
    try:
        yield
    finally:
        halt.set()
        await serving


async def _watch(runner: asyncio.Task[None], *, live: bool, flows: list[FlowProgress]) -> None:
    if not live:
        await runner
        return
    with Live(
        display.progress_table(flows, time.time()), console=out, refresh_per_second=4
    ) as view:
        while not runner.done():
            await asyncio.wait({runner}, timeout=0.25)
            view.update(display.progress_table(flows, time.time()))
    await runner


def _progress_dict(progress: FlowProgress) -> dict[str, object]:
    return dataclasses.asdict(progress)


@app.command()
def status(workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonOption = False) -> None:
    """Per flow: checkpoint, backlog, last success, retries and dead letters."""
    reports = asyncio.run(admin.flow_reports(_load(workspace)))
    if as_json:
        out.print_json(json.dumps([display.report_dict(r) for r in reports]))
    else:
        out.print(display.status_table(reports))


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
    letters = asyncio.run(
        admin.list_dead_letters(
            _load(workspace), flow=flow, status=None if state == "all" else state, limit=limit
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
    letter = asyncio.run(admin.show_dead_letter(_load(workspace), dead_letter_id))
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
    moved = asyncio.run(admin.replay(_load(workspace), ids))
    _report_resolved("replayed", ids, moved)
    if moved:
        out.print("the next `syncwell run` delivers them")


@dlq_app.command("discard")
def dlq_discard(
    ids: Annotated[list[int], typer.Argument(help="Dead letter ids to give up on.")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Give up on dead letters for good."""
    _report_resolved("discarded", ids, asyncio.run(admin.discard(_load(workspace), ids)))


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
    found = asyncio.run(admin.list_incidents(_load(workspace), since=time.time() - window))
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
            "FLOW.mode=realtime (repeat for several).",
        ),
    ] = None,
    history: Annotated[
        bool, typer.Option("--history", help="Show how the constraint moved over time.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Name the integration that limits the workflows now, with its evidence and advice."""
    loaded = _load(workspace)
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
    for line in analyze.analysis_text(found):
        out.print(line, highlight=False, markup=False, soft_wrap=True)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,  # --help goes to the sandbox's own parser, which knows every flag
)
def sandbox(context: typer.Context) -> None:
    """Run the sandbox's three tools (CRM, email platform, project tool) with fault knobs.

    Every option of `python -m syncwell.sandbox` works here; `syncwell sandbox --help`
    lists them, docs/sandbox.md explains each.
    """
    from syncwell.sandbox import main as sandbox_main

    raise typer.Exit(sandbox_main(context.args))


@app.command()
def demo(
    folder: Annotated[
        Path, typer.Option(help="Where the demo's databases, tools' data and workspace go.")
    ] = Path(".syncwell-demo"),
    duration: Annotated[
        float, typer.Option(help="Seconds to run before the summary; Ctrl-C stops sooner.")
    ] = 60.0,
    port: Annotated[int, typer.Option(help="Port of syncwell's API (the CRM's webhooks).")] = 8100,
    free_ports: Annotated[
        bool, typer.Option(help="Run the tools on free ports instead of 8101-8103.")
    ] = False,
) -> None:
    """Run the demo: the core app with a CRM (two-way, webhooks), an email platform (batches)
    and a slow project tool (every 4 hours), while people edit records on every side.

    The tools are the sandbox's, started in their own process. A rerun resumes where the last
    run stopped.
    """
    from syncwell.demo import demo_world, simulate_people

    _logging(verbose=False)

    async def main() -> tuple[bool, Engine, Path]:
        async with demo_world(folder, port, free_ports=free_ports) as world:
            out.print(
                f"tools: CRM {world.endpoints.crm_url}, email {world.endpoints.email_url}, "
                f"project tool {world.endpoints.project_url}; webhooks to :{port}/hooks/crm"
            )
            engine = Engine(_load(world.workspace))
            people = asyncio.Event()
            working = asyncio.create_task(simulate_people(world.endpoints, world.core, people))
            try:
                signalled = await _run(
                    engine,
                    once=False,
                    live=out.is_terminal,
                    serve=("127.0.0.1", port),
                    stop_after_s=duration,
                )
            finally:
                people.set()
                await working
            return signalled, engine, world.workspace

    out.rule(f"syncwell demo: {duration:.0f} s of the workflow (Ctrl-C stops it sooner)")
    signalled, engine, path = asyncio.run(main())
    display.print_progress(out, list(engine.progress.values()))
    out.rule("where every flow stands")
    workspace = _load(path)
    out.print(display.status_table(asyncio.run(admin.flow_reports(workspace))))
    letters = asyncio.run(admin.list_dead_letters(workspace, flow=None, status="open", limit=5))
    out.print(display.dead_letters_table(letters))
    out.rule("the constraint: what limits the workflow now")
    for line in analyze.analysis_text(asyncio.run(admin.constraint(workspace, window_s=86400))):
        out.print(line, highlight=False, markup=False, soft_wrap=True)
    out.print(
        f"\nThe map, constraint highlighted: syncwell map -w {path} (--format svg -o map.svg)\n"
        f"What if volume doubled: syncwell constraint --what-if volume=2x -w {path}\n"
        f"Why a record was refused: syncwell dlq show <id> -w {path}\n"
        f"Run it again to resume: syncwell demo --folder {folder} "
        "(docs/tutorial.md walks through it)"
    )
    if signalled:
        raise typer.Exit(130)
