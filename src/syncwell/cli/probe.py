"""`syncwell probe`: connect to every system and check credentials, tables, keys and filters."""

from __future__ import annotations

import asyncio
import json
from itertools import groupby

import typer
from rich.markup import escape
from rich.table import Table

from syncwell.cli.common import DEFAULT_WORKSPACE, JsonOption, WorkspaceOption, app, load, out
from syncwell.engine.probe import ProbeResult, probe_workspace

_STYLE = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[red]fail[/]"}


@app.command()
def probe(workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonOption = False) -> None:
    """Check every system for real: sign-in, tables and fields, keys, incremental filters.

    Reads a few pages and writes nothing. Exit 1 when a check fails.
    """
    results = asyncio.run(probe_workspace(load(workspace)))
    if as_json:
        out.print_json(json.dumps([result.as_dict() for result in results]))
    else:
        for system, found in groupby(results, key=lambda result: result.system):
            out.print(_table(system, list(found)))
        failed = sum(result.status == "fail" for result in results)
        warned = sum(result.status == "warn" for result in results)
        out.print(f"{len(results)} checks: {failed} failed, {warned} warned", highlight=False)
    if any(result.status == "fail" for result in results):
        raise typer.Exit(1)


def _table(system: str, results: list[ProbeResult]) -> Table:
    table = Table(title=escape(system), title_justify="left", expand=True)
    for column in ("flow", "check", "result", "found", "fix"):
        table.add_column(column, overflow="fold")
    for result in results:
        table.add_row(
            escape(result.flow),
            result.check,
            _STYLE[result.status],
            escape(result.found),
            escape(result.fix),
        )
    return table
