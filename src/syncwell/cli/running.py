"""`syncwell run`, `syncwell demo` and `syncwell sandbox`: the engine at work, with its progress."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.live import Live

from syncwell import analyze, display
from syncwell.cli import runlog
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
from syncwell.engine import Engine, FlowProgress, admin
from syncwell.errors import ConnectorError, TransportError
from syncwell.measure.tracing import configure_from_environment
from syncwell.sandbox.command import sandbox_command
from syncwell.store import open_store
from syncwell.workspace import Workspace

if TYPE_CHECKING:  # the API is imported only by the commands that serve it
    from syncwell.api import ApiServer


@app.command()
def run(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="Read every flow once, deliver it all, then exit; exit 1, saying why and the "
            "fix, when a flow cannot make progress (its changes wait in the journal).",
        ),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log each step.")] = False,
    as_json: JsonOption = False,
    host: Annotated[str, typer.Option(help="Address the HTTP API listens on.")] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(min=0, max=65535, help="Port of the HTTP API (webhooks at /hooks/<system>)."),
    ] = 8100,
    serve: Annotated[
        bool | None,
        typer.Option(
            "--serve/--no-serve",
            help="Serve the HTTP API (webhooks, /metrics, health). Default: when a system "
            "sends webhooks and the run is not --once.",
        ),
    ] = None,
    log_format: runlog.LogFormatOption = None,
    progress_every: runlog.ProgressEveryOption = "10s",
) -> None:
    """Run the workspace's flows until stopped (Ctrl-C or SIGTERM stop it cleanly).

    The HTTP API listens at http://HOST:PORT: webhooks at /hooks/<system>, Prometheus at
    /metrics, and /healthz, /readyz.
    """
    logged = log_format is not None or not (out.is_terminal or as_json)
    if logged:  # no terminal to hold a live table: a line per event (cli/runlog.py)
        runlog.configure_run_log(log_format or "text", verbose=verbose, to_stderr=as_json)
    else:
        configure_logging(verbose)
    every_s = runlog.progress_every_s(progress_every)
    configure_from_environment()  # traces only when OTEL_TRACES_EXPORTER asks for them
    engine = Engine(load(workspace))
    if once and engine.role != "all":
        err.print(
            "--once delivers in this process, but this workspace has a `transport:`: its "
            "workers deliver. Run `syncwell run` (it reads and relays) and `syncwell worker`.",
            highlight=False,
        )
        raise typer.Exit(2)
    if serve is None:
        serve = bool(engine.webhooks.intakes) and not once
    address = (host, port) if serve else None
    _run_or_explain(
        engine,
        once=once,
        live=not (logged or as_json),
        serve=address,
        log_every_s=every_s if logged else None,
    )
    progress = list(engine.progress.values())
    if as_json:
        out.print_json(json.dumps([_progress_dict(p) for p in progress]))
    elif logged and log_format == "json":  # stdout stays one JSON object a line
        runlog.log_summary(progress, engine)
    else:
        display.print_progress(out, progress)
    _fail_if_gave_up(progress)


def _run_or_explain(
    engine: Engine,
    *,
    once: bool,
    live: bool,
    serve: tuple[str, int] | None = None,
    log_every_s: float | None = None,
) -> None:
    """Run the engine; a transport it cannot reach at the start, or a system that refuses it,
    is one line, not a trace. (A system that does not answer is tried again: engine/startup.py.)
    """
    try:
        asyncio.run(_run(engine, once=once, live=live, serve=serve, log_every_s=log_every_s))
    except TransportError as error:
        err.print(
            f"[red]{error}[/red]\n  Is the NATS server running, with JetStream on "
            "(nats-server -js)? Check `transport.url` in the workspace.",
            highlight=False,
        )
        raise typer.Exit(1) from None
    except ConnectorError as error:
        # Markup off: a driver's message may hold brackets. One line, whatever the width.
        err.print(
            f"{error}. Fix it in the workspace (`syncwell probe` tries each system), then run "
            "again.",
            style="red",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from None


def _fail_if_gave_up(progress: list[FlowProgress]) -> None:
    """A one-off run that gave up on a flow exits 1, with one line per flow: why, the fix."""
    failed = [p for p in progress if p.gave_up]
    for flow in failed:
        if flow.stuck is not None:
            line = flow.stuck.line(flow.flow)
        else:
            line = f"flow {flow.flow}: gave up after repeated failures: {flow.last_error}"
        # One line, however wide: a script greps it, a person copies the fix from it.
        err.print(line, style="red", markup=False, highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)


async def _run(
    engine: Engine,
    *,
    once: bool,
    live: bool,
    serve: tuple[str, int] | ApiServer | None = None,
    stop_after_s: float | None = None,
    log_every_s: float | None = None,
) -> bool:
    """Run the engine, showing progress when `live`; return whether a signal stopped it.

    With `serve` (host, port, or a server already listening), the HTTP API runs beside it
    and stops after it; with
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
    server = _listening(engine, serve)  # a busy port ends the run before the engine starts
    runner = asyncio.create_task(engine.run(once=once, stop=stop))
    async with _serving(server):
        if log_every_s is not None:  # log lines, a progress line every `log_every_s`
            await runlog.log_while_running(runner, engine, log_every_s)
        await _watch(runner, live=live, flows=list(engine.progress.values()))
    return signalled.is_set()


def _listening(engine: Engine, serve: tuple[str, int] | ApiServer | None) -> ApiServer | None:
    """The engine's API server, its port already taken (ListenError if it cannot be)."""
    if not isinstance(serve, tuple):  # none, or a server listening already
        return serve
    from syncwell.api import ApiServer, create_app  # only runs that take webhooks pay for it

    server = ApiServer(create_app(engine), *serve)
    server.listen()
    return server


@contextlib.asynccontextmanager
async def _serving(server: ApiServer | None) -> AsyncIterator[None]:
    if server is None:
        yield
        return
    halt = asyncio.Event()
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
    found = dataclasses.asdict(progress)
    found.pop("recent")  # the marks behind rows/s, not a count
    return found


@app.command()
def worker(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log each step.")] = False,
    host: Annotated[str, typer.Option(help="Address /healthz and /metrics listen on.")] = (
        "127.0.0.1"
    ),
    port: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=65535,
            help="Serve /healthz, /readyz and /metrics on this port (default: none).",
        ),
    ] = None,
    log_format: runlog.LogFormatOption = None,
    progress_every: runlog.ProgressEveryOption = "10s",
) -> None:
    """Deliver the workspace's flows from its transport, beside any number of other workers
    (Ctrl-C or SIGTERM stop it cleanly; what it held goes to another).

    Needs `transport:` and a PostgreSQL `state:` in the workspace (docs/distributed.md);
    `syncwell run` reads the sources and relays what it reads to the workers.
    """
    # A worker draws no table: it writes log lines, as `run` does without a terminal.
    runlog.configure_run_log(log_format or "text", verbose=verbose)
    every_s = runlog.progress_every_s(progress_every)
    configure_from_environment()
    loaded = load(workspace)
    transport = loaded.transport
    if transport is None:
        err.print(
            "syncwell worker delivers from a transport, and this workspace has none: add "
            "`transport: {url: nats://127.0.0.1:4222}`, a `name:` and a PostgreSQL `state:` "
            "(docs/distributed.md), or run everything in one process with `syncwell run`",
            highlight=False,
        )
        raise typer.Exit(2)
    engine = Engine(loaded, worker=True)
    if log_format != "json":  # stdout stays one JSON object a line
        out.print(
            f"worker: delivering {len(engine.flows)} flows from {transport.url} (Ctrl-C stops)",
            highlight=False,
        )
    address = None if port is None else (host, port)
    _run_or_explain(engine, once=False, live=False, serve=address, log_every_s=every_s)
    if log_format == "json":
        runlog.log_summary(list(engine.progress.values()), engine)
    else:
        display.print_progress(out, list(engine.progress.values()))


# The sandbox's own command (python -m syncwell.sandbox is the same one), in syncwell's style.
app.command("sandbox")(sandbox_command)


@app.command()
def demo(
    folder: Annotated[
        Path, typer.Option(help="Where the demo's databases, tools' data and workspace go.")
    ] = Path(".syncwell-demo"),
    duration: Annotated[
        float, typer.Option(help="Seconds to run before the summary; Ctrl-C stops sooner.")
    ] = 60.0,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port of syncwell's API (the CRM's webhooks).")
    ] = 8100,
    free_ports: Annotated[
        bool, typer.Option(help="Run the tools on free ports instead of 8101-8103.")
    ] = False,
) -> None:
    """Run the demo: the core app with a CRM (two-way, webhooks), an email platform (batches)
    and a slow project tool (every 4 hours), while people edit records on every side.

    The tools are the sandbox's, started in their own process. A rerun resumes where the last
    run stopped.
    """
    from syncwell.demo import TOKEN_FILE, demo_token, demo_world, simulate_people
    from syncwell.demo.next_steps import next_steps, syncwell_command

    configure_logging(verbose=False)
    port = _claim_demo_ports(folder, port, free_ports=free_ports)

    async def main() -> tuple[bool, Engine, Path]:
        async with demo_world(folder, port, free_ports=free_ports) as world:
            out.print(
                f"tools: CRM {world.endpoints.crm_url}, email {world.endpoints.email_url}, "
                f"project tool {world.endpoints.project_url}; webhooks to :{port}/hooks/crm"
            )
            engine = Engine(load(world.workspace))
            server = _listening(engine, ("127.0.0.1", port))  # the dashboard's port is ours now
            await demo_token(engine.workspace, folder)
            out.print(
                f"dashboard: http://127.0.0.1:{port}/ (log in with the operator token in "
                f"{folder / TOKEN_FILE}: cat it)",
                highlight=False,
                soft_wrap=True,  # one line: the address and the path stay whole to copy
            )
            people = asyncio.Event()
            working = asyncio.create_task(simulate_people(world.endpoints, world.core, people))
            try:
                signalled = await _run(
                    engine,
                    once=False,
                    live=out.is_terminal,
                    serve=server,
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
    workspace = load(path)
    out.print(display.status_table(asyncio.run(admin.flow_reports(workspace))))
    letters = asyncio.run(admin.list_dead_letters(workspace, flow=None, status="open", limit=5))
    out.print(display.dead_letters_table(letters))
    out.rule("the constraint: what limits the workflow now")
    analysis = asyncio.run(admin.constraint(workspace, window_s=86400))
    display.print_report(out, analyze.analysis_text(analysis))  # wrapped in a terminal only
    for line in next_steps(path, folder, folder / TOKEN_FILE, port, syncwell_command()):
        out.print(line, highlight=False, markup=False, soft_wrap=True)
    if signalled:
        raise typer.Exit(130)


def _claim_demo_ports(folder: Path, port: int, *, free_ports: bool) -> int:
    """The port of the demo's API: `port`, or a free one for 0. A port the demo needs but is
    taken ends it now, in one line (ListenError), not with the tools' process dying, or
    after they have started."""
    from syncwell.api.server import bind_socket
    from syncwell.demo.world import sandbox_config

    if port == 0:
        # The CRM is subscribed to the API's own address before the API listens, so the
        # port is chosen now (it printed ":0" and the CRM's webhooks went nowhere).
        with bind_socket("127.0.0.1", 0) as chosen:
            port = int(chosen.getsockname()[1])
    tools = sandbox_config(folder, port, free_ports=free_ports)
    for needed in (port, tools.crm.port, tools.email.port, tools.project.port):
        if needed:  # 0: a free one, picked when the tools start
            bind_socket(tools.host, needed).close()
    return port


@app.command()
def serve(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8100,
) -> None:
    """Serve the dashboard at /, the REST API under /api/v1 (tokens: `syncwell token`),
    /metrics and health.

    It reads the workspace's state store: run it beside `syncwell run`, which takes the
    webhooks, or on its own to look at a workspace's state.
    """
    from syncwell.api import ApiServer, create_app

    configure_logging(verbose=False)
    loaded = load(workspace)
    server = ApiServer(create_app(workspace=loaded), host, port)

    async def main() -> None:
        await _check_store(loaded)  # a store that does not answer: one line, not a page
        server.listen()  # said "serving" only once the port is ours
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        shown = f"[{host}]" if ":" in host else host  # an IPv6 address, as a URL writes it
        out.print(f"serving http://{shown}:{server.port}/api/v1 (Ctrl-C stops)", highlight=False)
        await server.serve(stop)

    asyncio.run(main())


async def _check_store(workspace: Workspace) -> None:
    """Open the workspace's state store once (StoreError when it does not answer)."""
    store = await open_store(workspace.state)
    await store.close()
