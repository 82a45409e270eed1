"""The ``sqlite`` connector: SQLite tables as sources and destinations (the demo's core)."""

from __future__ import annotations

from syncwell.connectors.sqlite.database import SqliteDatabase
from syncwell.connectors.sqlite.destination import SqliteDestination
from syncwell.connectors.sqlite.settings import Settings
from syncwell.connectors.sqlite.source import SqliteSource
from syncwell.types import RequestBudget

__all__ = [
    "Settings",
    "SqliteDestination",
    "SqliteSource",
    "open_destination",
    "open_source",
    "unverifiable",
]


async def open_source(
    name: str, settings: Settings, *, budget: RequestBudget | None = None
) -> SqliteSource:
    """Open the system `name` for reading (a file needs no request budget)."""
    return SqliteSource(SqliteDatabase(name, settings))


async def open_destination(
    name: str, settings: Settings, *, budget: RequestBudget | None = None
) -> SqliteDestination:
    """Open the system `name` for writing."""
    return SqliteDestination(SqliteDatabase(name, settings))


def unverifiable(settings: Settings, stream: str) -> str | None:
    """Why records written to `stream` cannot be read back: never, a table is read by key."""
    return None
