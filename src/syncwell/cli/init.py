"""`syncwell init`: a commented syncwell.yaml for your own database or API, to start from."""

from __future__ import annotations

import asyncio
import difflib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.markup import escape
from rich.table import Table

from syncwell.cli.common import JsonOption, app, err, out
from syncwell.connectors.survey import SurveyedTable
from syncwell.engine.init_survey import survey_database
from syncwell.errors import ConnectorError, WorkspaceError
from syncwell.workspace import parse_workspace
from syncwell.workspace.init_dsn import Database, DsnError, parse_dsn
from syncwell.workspace.init_http import api_system_name, render_http_workspace
from syncwell.workspace.init_proposal import FlowProposal, flow_name, propose_all
from syncwell.workspace.init_yaml import render_database_workspace

_FROM_HELP = "The database to sync from: postgresql://user@host:5432/db or sqlite:///file.db."
_TO_HELP = "The database to sync to (asked for when left out at a terminal)."


@app.command()
def init(
    source: Annotated[str | None, typer.Option("--from", help=_FROM_HELP)] = None,
    destination: Annotated[str | None, typer.Option("--to", help=_TO_HELP)] = None,
    schema: Annotated[str, typer.Option(help="The PostgreSQL schema to read.")] = "public",
    to_schema: Annotated[
        str | None, typer.Option(help="The PostgreSQL schema to write. Default: --schema.")
    ] = None,
    tables: Annotated[
        str | None,
        typer.Option(help="Only these tables, comma-separated. Default: every table."),
    ] = None,
    http: Annotated[
        str | None,
        typer.Option(help="Start from an http API instead: its base URL (a skeleton to edit)."),
    ] = None,
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="The file to write.")] = Path(
        "syncwell.yaml"
    ),
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite the file if it exists.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Write a commented syncwell.yaml that syncs your tables (or an API) to another database.

    Reads the source's catalog: each table's primary key becomes the flow's key, and an
    updated_at-like column (one an index starts with, preferably) its cursor. Each choice is
    explained in a comment. Writes nothing to any database; `syncwell tables --create` makes
    the destination tables.
    """
    if (source is None) == (http is None):
        _fail("give --from DSN (a database to read) or --http URL (an API), one of them")
    if workspace.exists() and not force:
        _fail(f"{workspace} exists already; pass --force to overwrite it, or -w OTHER.yaml")
    workspace.parent.mkdir(parents=True, exist_ok=True)
    folder = workspace.resolve().parent
    name = flow_name(folder.name or "workspace")
    if http is not None:
        _init_http(http, destination, to_schema or schema, workspace, name, as_json=as_json)
        return
    assert source is not None
    schemas = (schema, to_schema or schema)
    _init_database(source, destination, schemas, tables, workspace, name, as_json=as_json)


def _init_database(
    source: str,
    destination: str | None,
    schemas: tuple[str, str],
    tables: str | None,
    workspace: Path,
    name: str,
    *,
    as_json: bool,
) -> None:
    """Survey the source database, propose a flow per table, write the file, say what next."""
    folder = workspace.resolve().parent
    origin = _database(source, schemas[0], folder, "source")
    target = _database(_ask_destination(destination), schemas[1], folder, "destination")
    if origin.same_place(target):
        _fail("--from and --to name the same tables: give --to-schema or another database")
    if target.draft.name == origin.draft.name:
        target = parse_dsn(
            target.connect,
            schema=target.schema,
            folder=folder,
            role="destination",
            name=f"{origin.draft.name}_copy",
        )
    try:
        found = asyncio.run(survey_database(origin))
    except ConnectorError as error:
        fix = "check the DSN's host, port, database and user, and that the database is up"
        _fail(f"cannot read the tables of --from: {error}; {fix}", code=1)
    chosen = _choose(found, tables, origin)
    proposals = propose_all(chosen, postgres=origin.kind == "postgres")
    text = render_database_workspace(
        name, origin.draft, target.draft, proposals, workspace.as_posix()
    )
    _write(workspace, text, secrets=[d.secret for d in (origin, target) if d.secret])
    if as_json:
        document = {
            "workspace": str(workspace),
            "source": origin.draft.name,
            "destination": target.draft.name,
            "flows": [proposal.as_dict() for proposal in proposals],
        }
        out.print_json(json.dumps(document))
        return
    out.print(_table(proposals))
    _next_steps(workspace, proposals, [d.secret for d in (origin, target) if d.secret])


def _init_http(
    base_url: str,
    destination: str | None,
    schema: str,
    workspace: Path,
    name: str,
    *,
    as_json: bool,
) -> None:
    if not base_url.startswith(("http://", "https://")):
        _fail(f"--http {base_url!r} is no URL: write its base, e.g. https://api.example.com")
    folder = workspace.resolve().parent
    api = api_system_name(base_url)
    dsn = destination or f"sqlite:///{folder / (api + '_copy.db')}"
    target = _database(dsn, schema, folder, "destination")
    text = render_http_workspace(name, api, base_url, target.draft)
    _write(workspace, text, secrets=[target.secret] if target.secret else [])
    if as_json:
        out.print_json(json.dumps({"workspace": str(workspace), "source": api, "edit": True}))
        return
    out.print(
        f"wrote {escape(str(workspace))}: a skeleton for {escape(base_url)}. Fill in each "
        "EDIT: (path, records, pagination, key, cursor, auth), then run `syncwell probe "
        f"-w {escape(str(workspace))}` to ask the API whether it agrees.",
        highlight=False,
    )


def _database(dsn: str, schema: str, folder: Path, role: str) -> Database:
    try:
        return parse_dsn(dsn, schema=schema, folder=folder, role=role)
    except DsnError as error:
        _fail(f"--{'from' if role == 'source' else 'to'}: {error}")


def _ask_destination(given: str | None) -> str:
    if given:
        return given
    if not sys.stdin.isatty():
        _fail("give --to DSN: the database to sync to (postgresql://… or sqlite:///file.db)")
    answer: str = typer.prompt("The database to sync to (postgresql://… or sqlite:///file.db)")
    return answer


def _choose(
    found: list[SurveyedTable], wanted: str | None, origin: Database
) -> list[SurveyedTable]:
    where = f"schema {origin.schema}" if origin.kind == "postgres" else origin.connect
    if not found:
        hint = "; --schema names another" if origin.kind == "postgres" else ""
        _fail(f"no tables in {where}{hint}")
    if wanted is None:
        return found
    names = [name.strip() for name in wanted.split(",") if name.strip()]
    by_name = {table.name: table for table in found}
    for name in names:
        if name not in by_name:
            close = difflib.get_close_matches(name, list(by_name), n=1)
            maybe = f"did you mean {close[0]!r}? " if close else ""
            _fail(f"no table {name!r} in {where}; {maybe}it has: {', '.join(by_name)}")
    return [by_name[name] for name in dict.fromkeys(names)]


def _write(workspace: Path, text: str, *, secrets: list[str]) -> None:
    """Write the file once it loads: what init writes must pass `syncwell check`."""
    env = {**os.environ, **dict.fromkeys(secrets, "set-before-running")}
    try:
        parse_workspace(text, str(workspace), env=env)
    except WorkspaceError as error:  # a bug of init's: say so rather than write a broken file
        err.print(f"[red]init wrote an invalid workspace, not saved[/red]\n{escape(str(error))}")
        raise typer.Exit(1) from error
    workspace.write_text(text, encoding="utf-8")


def _table(proposals: list[FlowProposal]) -> Table:
    counted = any(proposal.rows is not None for proposal in proposals)
    table = Table(title="flows proposed", title_justify="left")
    table.add_column("table", overflow="fold")
    if counted:  # PostgreSQL's estimate; SQLite keeps none, and a new table has none yet
        table.add_column("rows", justify="right")
    table.add_column("key", overflow="fold")
    table.add_column("cursor", overflow="fold")
    for proposal in proposals:
        key = escape(", ".join(proposal.key)) if proposal.key else "[yellow]none: left out[/]"
        cursor = escape(proposal.cursor) if proposal.cursor else "[dim]none: whole reads[/]"
        rows = "?" if proposal.rows is None else f"{proposal.rows:,}"
        table.add_row(escape(proposal.table), *([rows] if counted else []), key, cursor)
    return table


def _next_steps(workspace: Path, proposals: list[FlowProposal], secrets: list[str]) -> None:
    live = sum(not proposal.skipped for proposal in proposals)
    left = len(proposals) - live
    file = escape(workspace.as_posix())
    summary = f"wrote {file}: {live} flow(s)"
    if left:
        summary += f", {left} left out (the file says why)"
    out.print(summary, highlight=False)
    for secret in secrets:
        out.print(f"export {secret}=… first: the password is read from it", highlight=False)
    program = escape(_program())
    out.print(
        "next, make the destination tables, then sync once:\n"
        f"  {program} tables -w {file} --create\n  {program} run -w {file} --once",
        highlight=False,
    )


def _program() -> str:
    """How the user called syncwell, when plain `syncwell` would not find the same program.

    `.venv/bin/syncwell init` is told `.venv/bin/syncwell tables`, which works as printed.
    """
    called = sys.argv[0]
    if Path(called).name != "syncwell" or "/" not in called:
        return "syncwell"
    found = shutil.which("syncwell")
    same = found is not None and Path(found).resolve() == Path(called).resolve()
    return "syncwell" if same else called


def _fail(message: str, *, code: int = 2) -> NoReturn:
    err.print(f"[red]init:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(code)
