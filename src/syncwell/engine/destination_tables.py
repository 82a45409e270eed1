"""Each flow's destination table: does it exist, and if not, the CREATE TABLE derived from the
source table's catalog (`syncwell tables`), run only when asked (`--create`).

Only database destinations (PostgreSQL, SQLite) get tables; an http tool's records live in
the tool. Types come from a database source; an http source has no catalog to derive from.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import asyncpg

from syncwell.connectors import ddl
from syncwell.connectors._sql import quote
from syncwell.connectors.postgres import survey as postgres_survey
from syncwell.connectors.postgres.errors import translated
from syncwell.connectors.postgres.settings import Settings as PostgresSettings
from syncwell.connectors.sqlite import survey as sqlite_survey
from syncwell.connectors.sqlite.settings import Settings as SqliteSettings
from syncwell.connectors.survey import SurveyedTable
from syncwell.errors import MisconfiguredError
from syncwell.workspace import Flow, Mode, Workspace

__all__ = ["DestinationTable", "destination_tables"]

TableState = Literal["exists", "missing", "created", "unknown"]
_SCHEMA_EXISTS = "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)"


@dataclass(frozen=True, slots=True)
class DestinationTable:
    """One flow's destination table.

    Attributes:
        flow: the flow that writes it.
        system: the destination system.
        table: the table's name in it.
        state: `exists`; `missing` (the statement creates it); `created` (it just did);
            `unknown` (missing, and no statement can be derived: `note` says why).
        statement: the SQL that creates it, when it was missing and the source is a database.
        note: what else to know.
    """

    flow: str
    system: str
    table: str
    state: TableState
    statement: str | None = None
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        """The table for `--json`."""
        return asdict(self)


async def destination_tables(
    workspace: Workspace, *, flows: Collection[str] = (), create: bool = False
) -> list[DestinationTable]:
    """Each database destination table of the flows (all but manual ones by default)."""
    found: list[DestinationTable] = []
    seen: set[tuple[str, str]] = set()
    async with AsyncExitStack() as stack:
        places = _Places(workspace, stack)
        for flow in workspace.flows.values():
            if (flows and flow.name not in flows) or (not flows and flow.mode is Mode.MANUAL):
                continue
            destination = workspace.systems[flow.destination].settings
            if (
                destination.kind not in ("postgres", "sqlite")
                or (flow.destination, flow.target) in seen
            ):
                continue
            seen.add((flow.destination, flow.target))
            found.append(await _one(places, flow, create=create))
    return found


async def _one(places: _Places, flow: Flow, *, create: bool) -> DestinationTable:
    if await places.exists(flow.destination, flow.target):
        return DestinationTable(flow.name, flow.destination, flow.target, "exists")
    source = await places.survey(flow.source, flow.stream)
    if source is None:
        kind = places.kind(flow.source)
        note = (
            f"the source is {kind}: it has no catalog to take types from. Create the table "
            f"yourself, with a primary key on ({', '.join(flow.key)})"
        )
        return DestinationTable(flow.name, flow.destination, flow.target, "unknown", None, note)
    statement = await places.statement(flow, source)
    if not create:
        return DestinationTable(flow.name, flow.destination, flow.target, "missing", statement)
    await places.run(flow.destination, statement)
    return DestinationTable(flow.name, flow.destination, flow.target, "created", statement)


def _columns(
    flow: Flow, source: SurveyedTable, kinds: tuple[str, str]
) -> list[ddl.DestinationColumn]:
    """The destination's columns: the moved ones, renamed as `fields` says, types mapped."""
    columns = []
    for name, declared in source.table.types.items():
        if flow.fields and name not in flow.fields:
            continue
        mapped = ddl.map_type(
            declared,
            "postgres" if kinds[0] == "postgres" else "sqlite",
            "postgres" if kinds[1] == "postgres" else "sqlite",
            foreign=name in source.foreign_types,
        )
        columns.append(ddl.DestinationColumn(flow.fields.get(name, name), mapped.type, mapped.note))
    return columns


class _Places:
    """The connections to the workspace's databases, opened when first needed."""

    def __init__(self, workspace: Workspace, stack: AsyncExitStack) -> None:
        self._workspace = workspace
        self._stack = stack
        self._postgres: dict[str, asyncpg.Connection] = {}
        self._sqlite: dict[str, sqlite3.Connection] = {}
        self._schemas: set[tuple[str, str]] = set()

    def kind(self, system: str) -> str:
        return self._workspace.systems[system].settings.kind

    async def exists(self, system: str, table: str) -> bool:
        settings = self._workspace.systems[system].settings
        if isinstance(settings, PostgresSettings):
            with translated(system):
                connection = await self._pg(system, settings)
                return await postgres_survey.table_exists(connection, settings.db_schema, table)
        assert isinstance(settings, SqliteSettings)
        return self._lite_exists(system, settings, table)

    async def survey(self, system: str, table: str) -> SurveyedTable | None:
        """The source table, or None when the source is not a database."""
        settings = self._workspace.systems[system].settings
        if isinstance(settings, PostgresSettings):
            with translated(system):
                connection = await self._pg(system, settings)
                return await postgres_survey.survey_table(
                    connection, settings.db_schema, table, system
                )
        if isinstance(settings, SqliteSettings):
            return self._lite_survey(system, settings, table)
        return None

    async def statement(self, flow: Flow, source: SurveyedTable) -> str:
        """The CREATE TABLE (and the CREATE SCHEMA it needs) for the flow's target."""
        settings = self._workspace.systems[flow.destination].settings
        kinds = (self.kind(flow.source), settings.kind)
        key = [flow.fields.get(column, column) for column in flow.key]
        if isinstance(settings, PostgresSettings):
            schema = settings.db_schema
            name = f"{quote(schema)}.{quote(flow.target)}"
            create = ddl.create_table(name, _columns(flow, source, kinds), key)
            connection = await self._pg(flow.destination, settings)
            with translated(flow.destination):
                missing = not await connection.fetchval(_SCHEMA_EXISTS, schema)
            if missing and (flow.destination, schema) not in self._schemas:
                self._schemas.add((flow.destination, schema))  # said once, with its first table
                return f"CREATE SCHEMA IF NOT EXISTS {quote(schema)};\n{create}"
            return create
        return ddl.create_table(quote(flow.target), _columns(flow, source, kinds), key)

    async def run(self, system: str, statement: str) -> None:
        settings = self._workspace.systems[system].settings
        if isinstance(settings, PostgresSettings):
            connection = await self._pg(system, settings)
            with translated(system):
                async with connection.transaction():
                    await connection.execute(statement)
            return
        assert isinstance(settings, SqliteSettings)
        connection = self._lite(system, settings)
        with connection:  # one transaction: all of it or nothing
            connection.execute(statement)

    async def _pg(self, system: str, settings: PostgresSettings) -> asyncpg.Connection:
        if system not in self._postgres:
            with translated(system):
                connection = await asyncpg.connect(
                    settings.dsn.get_secret_value(), timeout=settings.connect_timeout_s
                )
            self._stack.push_async_callback(connection.close)
            self._postgres[system] = connection
        return self._postgres[system]

    def _lite_exists(self, system: str, settings: SqliteSettings, table: str) -> bool:
        if not Path(settings.path).exists():
            return False  # the first write (or --create) makes the file
        return sqlite_survey.table_exists(self._lite(system, settings), table)

    def _lite_survey(self, system: str, settings: SqliteSettings, table: str) -> SurveyedTable:
        if not Path(settings.path).is_file():
            raise MisconfiguredError(
                f"no SQLite database at {settings.path}; fix the system's path", system=system
            )
        return sqlite_survey.survey_table(self._lite(system, settings), table, system)

    def _lite(self, system: str, settings: SqliteSettings) -> sqlite3.Connection:
        if system not in self._sqlite:
            connection = sqlite3.connect(settings.path, timeout=settings.busy_timeout_s)
            self._stack.callback(connection.close)
            self._sqlite[system] = connection
        return self._sqlite[system]
