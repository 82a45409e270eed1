"""Connectors: the code that talks to one kind of system. `open_source` and
`open_destination` pick the kind from a system's settings."""

from __future__ import annotations

from syncwell.connectors import postgres, sqlite
from syncwell.connectors.base import Destination, Source

__all__ = ["KINDS", "Destination", "Source", "open_destination", "open_source"]

KINDS = ("postgres", "sqlite")

ConnectorSettings = postgres.Settings | sqlite.Settings


async def open_source(name: str, settings: ConnectorSettings) -> Source:
    """Connect to system `name` for reading, with the connector its settings' kind names."""
    if isinstance(settings, postgres.Settings):
        return await postgres.open_source(name, settings)
    return await sqlite.open_source(name, settings)


async def open_destination(name: str, settings: ConnectorSettings) -> Destination:
    """Connect to system `name` for writing, with the connector its settings' kind names."""
    if isinstance(settings, postgres.Settings):
        return await postgres.open_destination(name, settings)
    return await sqlite.open_destination(name, settings)
