"""`syncwell tables`: the destination tables the flows need, as CREATE TABLE, made on request."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.markup import escape

from syncwell.cli.common import DEFAULT_WORKSPACE, JsonOption, WorkspaceOption, app, err, load, out
from syncwell.cli.names import require_known
from syncwell.engine.destination_tables import DestinationTable, destination_tables
from syncwell.errors import ConnectorError


@app.command()
def tables(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    create: Annotated[
        bool, typer.Option("--create", help="Create the missing tables (else only print them).")
    ] = False,
    flow: Annotated[
        list[str] | None, typer.Option("--flow", help="Only this flow (repeat for several).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Print the CREATE TABLE of each flow's destination table that does not exist yet.

    Columns and types come from the source table's catalog (PostgreSQL and SQLite), renamed
    as the flow's `fields` say; the primary key is the flow's key. `--create` runs them.
    Exit 1 when a missing table's types cannot be derived (an http source).
    """
    loaded = load(workspace)
    require_known("flow", flow or (), list(loaded.flows), "--flow")
    try:
        found = asyncio.run(destination_tables(loaded, flows=flow or (), create=create))
    except ConnectorError as error:
        err.print(f"[red]tables:[/red] {escape(str(error))}", highlight=False)
        raise typer.Exit(1) from error
    if as_json:
        out.print_json(json.dumps([table.as_dict() for table in found]))
    else:
        _print(found, create=create)
    if any(table.state == "unknown" for table in found):
        raise typer.Exit(1)


def _print(found: list[DestinationTable], *, create: bool) -> None:
    """SQL on stdout, so that `syncwell tables > tables.sql` keeps a script that runs."""
    if not found:
        typer.echo("-- no flow writes to a PostgreSQL or SQLite table")
    for table in found:
        where = f"-- flow {table.flow}: table {table.table} in {table.system}"
        if table.state == "exists":
            typer.echo(f"{where} exists")
        elif table.state == "unknown":
            typer.echo(f"{where} is missing: {table.note}")
        else:
            typer.echo(f"{where}{' (created)' if table.state == 'created' else ''}")
            typer.echo(f"{table.statement}\n")
    missing = sum(table.state == "missing" for table in found)
    if missing and not create:
        err.print(
            f"{missing} table(s) missing: `syncwell tables --create` creates them as printed",
            highlight=False,
        )
