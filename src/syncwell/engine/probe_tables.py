"""The probe's look at a database destination's table, read only.

The destination connectors check their table the first time they write (and create their
tombstone table then); the probe must not write, so it runs the same checks, `describe` and
`Table.check_*` of each connector, on a connection of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg

from syncwell.connectors.http.probe import Finding
from syncwell.connectors.postgres import Settings as PostgresSettings
from syncwell.connectors.postgres.catalog import describe as describe_postgres
from syncwell.connectors.postgres.errors import translated
from syncwell.connectors.sqlite import Settings as SqliteSettings
from syncwell.connectors.sqlite.database import SqliteDatabase
from syncwell.connectors.sqlite.schema import Table
from syncwell.connectors.sqlite.schema import describe as describe_sqlite
from syncwell.errors import ConnectorError
from syncwell.workspace import Flow, System

__all__ = ["destination_table"]


async def destination_table(system: System, flow: Flow) -> Finding:
    """Whether `flow`'s target table is there with its columns and a unique index on its key."""
    spec = flow.destination_spec()
    settings = system.settings
    try:
        if isinstance(settings, SqliteSettings):
            table = await _sqlite_table(system.name, settings, spec.name)
        elif isinstance(settings, PostgresSettings):
            table = await _postgres_table(system.name, settings, spec.name)
        else:
            raise TypeError(f"no table check for a {system.kind} system")
        table.check_columns(spec.columns, "destination", system.name)
        table.check_unique(spec.key, system.name)
    except ConnectorError as error:
        return Finding("table", "fail", str(error))
    found = f"table {spec.name} holds every field and a unique index on {', '.join(spec.key)}"
    return Finding("table", "ok", found)


async def _sqlite_table(system: str, settings: SqliteSettings, name: str) -> Table:
    database = SqliteDatabase(system, settings)
    try:
        return await database.run(lambda connection: describe_sqlite(connection, name, system))
    finally:
        await database.close()


async def _postgres_table(system: str, settings: PostgresSettings, name: str) -> Table:
    with translated(system):
        connect: Callable[..., Awaitable[asyncpg.Connection]] = asyncpg.connect
        connection = await connect(
            settings.dsn.get_secret_value(), timeout=settings.connect_timeout_s
        )
        try:
            return await describe_postgres(connection, settings.db_schema, name, system)
        finally:
            await connection.close()
