"""What `syncwell run` writes where no one watches a terminal: a log line per event worth knowing.

A live table needs a terminal. Under a service manager, in a container or through a pipe, the
run writes log lines instead, as they happen: what each flow wrote (at most a line a second per
flow), every write or read that failed (the engine's own warnings: each one a retry), incidents
opened and closed, dead letters, and a progress line per flow every few seconds (read, written,
backlog, rows/s). As text for a person reading the journal, or as JSON, one object a line, for a
log shipper: each has `event`, `level`, `timestamp` and, for a flow's events, `flow`.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Sequence
from typing import Annotated, Literal

import structlog
import typer

from syncwell.cli.common import err
from syncwell.engine import Engine, FlowProgress
from syncwell.workspace.durations import parse_duration

__all__ = [
    "LogFormat",
    "LogFormatOption",
    "ProgressEveryOption",
    "configure_run_log",
    "log_summary",
    "log_while_running",
    "progress_every_s",
]

LogFormat = Literal["text", "json"]

LogFormatOption = Annotated[
    LogFormat | None,
    typer.Option(
        "--log-format",
        envvar="SYNCWELL_LOG_FORMAT",
        help="Write log lines, as text or JSON (one object a line), instead of the live table. "
        "Default: text when the output is not a terminal (a pipe, a service manager).",
    ),
]
ProgressEveryOption = Annotated[
    str,
    typer.Option(
        "--progress-every",
        help="With log lines: a progress line per flow this often (a duration: 10s, 1m).",
    ),
]

_CHECK_EVERY_S = 1.0
"""How often the counters are looked at: a flow's writes are one line a second at most."""

log = structlog.get_logger("syncwell.run")


def configure_run_log(log_format: LogFormat, *, verbose: bool, to_stderr: bool = False) -> None:
    """Log every event worth knowing (info and up; every step with `verbose`) as lines on
    stdout, or on stderr when stdout carries the run's JSON."""
    renderer: structlog.typing.Processor
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer()
        exceptions: list[structlog.typing.Processor] = [structlog.processors.format_exc_info]
    else:
        # Plain text: a journal or a file has no colours, and a traceback stays plain too.
        renderer = structlog.dev.ConsoleRenderer(
            colors=False, sort_keys=False, exception_formatter=structlog.dev.plain_traceback
        )
        exceptions = []
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="%Y-%m-%dT%H:%M:%SZ", utc=True),
            *exceptions,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.DEBUG if verbose else logging.INFO
        ),
        # Looked up at each call, so a replaced sys.stdout (tests) is honoured; PrintLogger
        # flushes each line, so a pipe sees it at once.
        logger_factory=lambda *_: structlog.PrintLogger(sys.stderr if to_stderr else sys.stdout),
        cache_logger_on_first_use=False,
    )


async def log_while_running(runner: asyncio.Task[None], engine: Engine, every_s: float) -> None:
    """Until `runner` ends: each second, a `written` line per flow that wrote; every
    `every_s`, a `progress` line per flow. Real time, like the live table it stands for."""
    flows = list(engine.progress.values())
    seen = {flow.flow: flow.written for flow in flows}
    log.info("run started", flows=len(flows), progress_every_s=every_s)
    due = time.monotonic() + every_s
    while not runner.done():
        await asyncio.wait({runner}, timeout=_CHECK_EVERY_S)
        now = time.time()
        for flow in flows:
            flow.rate(now)  # a mark for rows/s, which looks back over its window
            if flow.written > seen[flow.flow]:
                wrote = flow.written - seen[flow.flow]
                log.info("written", flow=flow.flow, changes=wrote, written=flow.written)
                seen[flow.flow] = flow.written
        if time.monotonic() >= due and not runner.done():
            due += every_s
            _log_progress("progress", flows, _backlogs(engine), now)


def log_summary(progress: Sequence[FlowProgress], engine: Engine) -> None:
    """The run's end as a `run ended` line per flow, with the same fields as `progress`."""
    _log_progress("run ended", progress, _backlogs(engine), time.time())


def _log_progress(
    event: str, flows: Sequence[FlowProgress], backlogs: dict[str, int], now: float
) -> None:
    for flow in flows:
        log.info(
            event,
            flow=flow.flow,
            read=flow.read,
            written=flow.written,
            backlog=backlogs.get(flow.flow, 0),
            rows_per_s=round(flow.rate(now), 1),
            retries=flow.retries,
            failed_writes=flow.failed_attempts,  # live; retries count once a batch is done
            dead=flow.dead_lettered,
        )


def _backlogs(engine: Engine) -> dict[str, int]:
    """Each flow's changes waiting in the journal, as the engine last measured them (it
    measures every `measure_every_s`)."""
    return {sample.flow: sample.backlog for sample in engine.observer.samples()}


def progress_every_s(text: str) -> float:
    """`--progress-every` in seconds; a mistake exits 2 with the forms it takes."""
    try:
        seconds = parse_duration(text).total_seconds()
    except ValueError as error:
        err.print(f"--progress-every {text!r}: {error}", style="red", markup=False)
        raise typer.Exit(2) from None
    if seconds <= 0:
        err.print(f"--progress-every {text!r}: give a duration above 0 (10s, 1m)", style="red")
        raise typer.Exit(2)
    return seconds
