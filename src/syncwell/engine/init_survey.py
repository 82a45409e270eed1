"""Reading a database's catalog for `syncwell init`: its tables, keys and indexes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg

from syncwell.connectors.postgres import survey as postgres_survey
from syncwell.connectors.postgres.errors import translated
from syncwell.connectors.sqlite import survey as sqlite_survey
from syncwell.connectors.survey import SurveyedTable
from syncwell.errors import MisconfiguredError
from syncwell.workspace.init_dsn import Database

__all__ = ["survey_database"]

_CONNECT_TIMEOUT_S = 10.0


async def survey_database(database: Database) -> list[SurveyedTable]:
    """Every table of the database (PostgreSQL: of its schema), read-only."""
    system = database.draft.name
    if database.kind == "sqlite":
        return _survey_sqlite(Path(database.connect), system)
    with translated(system):
        connection = await asyncpg.connect(database.connect, timeout=_CONNECT_TIMEOUT_S)
        try:
            return await postgres_survey.survey(connection, database.schema, system)
        finally:
            await connection.close()


def _survey_sqlite(path: Path, system: str) -> list[SurveyedTable]:
    if not path.is_file():
        raise MisconfiguredError(
            f"no SQLite database at {path}; give the path of an existing file", system=system
        )
    # Read-only: init never changes the user's data, nor creates a file by mistake.
    connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        return sqlite_survey.survey(connection, system)
    except sqlite3.DatabaseError as error:
        raise MisconfiguredError(f"cannot read {path}: {error}", system=system) from error
    finally:
        connection.close()
