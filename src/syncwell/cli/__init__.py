"""The `syncwell` command. Thin: each command parses, calls one function, prints.

Its commands live by group (cdc, dev, init, maps, plan, probe, running, state, tables, tickets,
tokens, transport); importing them registers them on `app`.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from syncwell import __version__
from syncwell.cli import (
    cdc,
    dev,
    init,
    maps,
    plan,
    probe,
    running,
    state,
    tables,
    tickets,
    tokens,
    transport,
)
from syncwell.cli.common import app, err
from syncwell.errors import StoreError

__all__ = [
    "app",
    "cdc",
    "dev",
    "init",
    "main",
    "maps",
    "plan",
    "probe",
    "running",
    "state",
    "tables",
    "tickets",
    "tokens",
    "transport",
]


def _print_version(asked: bool) -> None:
    if asked:
        print(f"syncwell {__version__}")
        raise typer.Exit


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """The options of `syncwell` itself, before any command (its help is the app's)."""


def main() -> None:
    """Entry point of the console script."""
    try:
        app()
    except StoreError as error:
        err.print(f"[red]state store:[/red] {error}", highlight=False)
        sys.exit(1)
