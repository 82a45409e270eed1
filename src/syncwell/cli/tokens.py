"""`syncwell token create|list|revoke`: the API's tokens."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
from typing import Annotated

import typer
from rich.table import Table

from syncwell.cli.common import (
    DEFAULT_WORKSPACE,
    JsonOption,
    WorkspaceOption,
    err,
    load,
    out,
    token_app,
)
from syncwell.engine import admin
from syncwell.store import Role


@token_app.command("create")
def token_create(
    role: Annotated[
        Role, typer.Option(help="viewer (reads), operator (replays, discards), admin.")
    ],
    name: Annotated[str, typer.Option(help="Who or what the token is for.")] = "",
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonOption = False,
) -> None:
    """Create a token and print it once: only its hash is kept."""
    token, text = asyncio.run(admin.create_token(load(workspace), role, name))
    if as_json:
        out.print_json(json.dumps({**dataclasses.asdict(token), "token": text}))
        return
    out.print(f"token {token.id} ({token.role}{', ' + name if name else ''}):", highlight=False)
    out.print(text, highlight=False, markup=False)
    err.print("Keep it now: it is not shown again. Send it as Authorization: Bearer <token>.")


@token_app.command("list")
def token_list(workspace: WorkspaceOption = DEFAULT_WORKSPACE, as_json: JsonOption = False) -> None:
    """Every token: its role, when it was made, last used and revoked (never its secret)."""
    found = asyncio.run(admin.list_tokens(load(workspace)))
    if as_json:
        out.print_json(json.dumps([dataclasses.asdict(token) for token in found]))
        return
    table = Table(title="tokens")
    for column in ("id", "name", "role", "created", "last used", "revoked"):
        table.add_column(column)
    for token in found:
        table.add_row(
            str(token.id),
            token.name,
            token.role,
            _when(token.created_at),
            _when(token.last_used_at),
            _when(token.revoked_at),
        )
    out.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (`syncwell token list`).")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Revoke a token: from now on it gets 401."""
    if not asyncio.run(admin.revoke_token(load(workspace), token_id)):
        err.print(f"[red]no live token {token_id}[/red]: see `syncwell token list`")
        raise typer.Exit(1)
    out.print(f"token {token_id} revoked")


def _when(at: float | None) -> str:
    if at is None:
        return "-"
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%d %H:%M")
