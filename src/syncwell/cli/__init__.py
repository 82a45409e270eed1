"""The `syncwell` command. Thin: each command parses, calls one function, prints.

Its commands live by group (dev, init, maps, plan, probe, running, state, tables, tickets,
tokens, transport); importing them registers them on `app`.
"""

from __future__ import annotations

import sys

from syncwell.cli import (
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


def main() -> None:
    """Entry point of the console script."""
    try:
        app()
    except StoreError as error:
        err.print(f"[red]state store:[/red] {error}", highlight=False)
        sys.exit(1)
