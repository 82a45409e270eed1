"""The ``postgres`` connector: PostgreSQL tables as sources and destinations."""

from __future__ import annotations

import asyncpg

from syncwell.connectors.postgres.destination import PostgresDestination
from syncwell.connectors.postgres.errors import translated
from syncwell.connectors.postgres.settings import Settings
from syncwell.connectors.postgres.source import PostgresSource
from syncwell.types import RequestBudget

__all__ = [
    "PostgresDestination",
    "PostgresSource",
    "Settings",
    "open_destination",
    "open_source",
    "unverifiable",
]


async def _pool(name: str, settings: Settings) -> asyncpg.Pool:
    with translated(name):
        pool = await asyncpg.create_pool(
            settings.dsn.get_secret_value(),
            min_size=1,
            max_size=4,
            timeout=settings.connect_timeout_s,
            server_settings={
                "statement_timeout": str(int(settings.statement_timeout_s * 1000)),
                "application_name": f"syncwell:{name}",
                # Text COPY between systems: dates in ISO form, floats exact, everywhere.
                "DateStyle": "ISO",
                "extra_float_digits": "3",
            },
        )
    assert pool is not None
    return pool


async def open_source(
    name: str, settings: Settings, *, budget: RequestBudget | None = None
) -> PostgresSource:
    """Connect to the system `name` for reading (a database needs no request budget)."""
    return PostgresSource(name, settings, await _pool(name, settings))


async def open_destination(
    name: str, settings: Settings, *, budget: RequestBudget | None = None
) -> PostgresDestination:
    """Connect to the system `name` for writing."""
    return PostgresDestination(name, settings, await _pool(name, settings))


def unverifiable(settings: Settings, stream: str) -> str | None:
    """Why records written to `stream` cannot be read back: never, a table is read by key."""
    return None
