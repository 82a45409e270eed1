"""Opening the state store: the URL, SQLite's durability settings, and migrations."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from syncwell.errors import StoreError, StoreRefusedError
from syncwell.store.pg_connections import connect_args, drop_ended_connections, ended_by_server
from syncwell.store.sqlite_files import guard_writable, until_writable

__all__ = ["close", "connect", "connect_direct", "migrate", "store_errors"]

P = ParamSpec("P")
R = TypeVar("R")


def store_errors(method: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Raise `StoreError` for whatever the database layer raises inside `method`.

    The engine then treats a busy or unreachable store like any passing failure: it waits and
    tries again, and nothing it had not committed is lost.
    """

    @functools.wraps(method)
    async def translated(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except (SQLAlchemyError, OSError) as error:
            if _refused(error):
                raise StoreRefusedError(f"the state store refused the data: {error}") from error
            if ended_by_server(error):
                raise StoreError(
                    "the state store's server ended the connection (restarted, or "
                    "pg_terminate_backend); syncwell connects again and tries again"
                ) from error
            raise StoreError(f"the state store failed: {error}") from error

    return translated


def _refused(error: Exception) -> bool:
    """Whether the database refused the data rather than failed: a data exception or an
    integrity violation (SQLSTATE classes 22 and 23). asyncpg's errors reach SQLAlchemy as a
    plain DBAPIError, so the SQLSTATE tells."""
    if isinstance(error, DataError | IntegrityError):
        return True
    original = getattr(error, "orig", None)
    state = getattr(original, "sqlstate", None)
    return isinstance(state, str) and state[:2] in ("22", "23")


_MIGRATIONS = Path(__file__).parent / "migrations"


def _async_url(url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise StoreError(
            f"state URL {url!r} is not a database URL; use sqlite:///path/state.db "
            "or postgresql://user@host/db"
        ) from error
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise StoreError(f"state URL {url!r}: syncwell keeps state in sqlite or postgresql only")


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    # WAL lets readers (status, the dashboard) run beside the engine's writer; synchronous=FULL
    # makes a commit durable before intake acknowledges its source (DESIGN.md, semantics 1).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # An analysis groups a month of rollups by flow; a sort spilled to temp files is slower.
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def connect(url: str) -> AsyncEngine:
    """An async engine on the state store at `url` (not yet migrated)."""
    async_url = _async_url(url)
    if async_url.startswith("sqlite"):
        engine = create_async_engine(async_url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        guard_writable(engine.sync_engine, engine.url.database)
        return engine
    # A server connection may have died while idle; a file can't, so SQLite skips the ping.
    engine = create_async_engine(async_url, pool_pre_ping=True, connect_args=connect_args())
    drop_ended_connections(engine.sync_engine)
    return engine


async def close(engine: AsyncEngine) -> None:
    """Close every connection of `engine`; on SQLite, once its files can be written again
    (closing the last connection writes them, and an unwritable one kills the process)."""
    if engine.dialect.name == "sqlite":
        await until_writable(engine.url.database)
    await engine.dispose()


def connect_direct(engine: AsyncEngine) -> Engine | None:
    """On SQLite, a sync engine on the same file, for transactions run whole in a thread."""
    if engine.dialect.name != "sqlite":
        return None
    url = engine.url.set(drivername="sqlite+pysqlite")
    direct = create_engine(url)
    event.listen(direct, "connect", _sqlite_pragmas)
    guard_writable(direct, url.database)
    return direct


def _upgrade_in_one_transaction(connection: Connection) -> None:
    """`_upgrade` on SQLite, all or nothing.

    Python's sqlite3 opens a transaction only before a data change, so each CREATE TABLE of a
    migration committed on its own: a kill -9 in the middle of the first one left half the
    tables, and every later open failed with "table journal already exists". SQLite's DDL is
    transactional once a transaction is open, so the migration opens one itself (the recipe
    SQLAlchemy's SQLite docs give for transactional DDL), and the driver's own handling comes
    back afterwards for the pooled connection's next user.
    """
    driver = connection.connection.dbapi_connection
    assert driver is not None, "a connection in use has its driver's"
    kept = driver.isolation_level
    driver.isolation_level = None  # the driver opens nothing, commits nothing by itself
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            _upgrade(connection)
        except BaseException:
            connection.exec_driver_sql("ROLLBACK")
            raise
        connection.exec_driver_sql("COMMIT")
    finally:
        driver.isolation_level = kept


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate(engine: AsyncEngine) -> None:
    """Bring the store's tables to the newest revision (a no-op when they are)."""
    try:
        async with _migration_lock(engine), engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                # Two workers starting at once must not both create the tables.
                await connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7305113)")
                await connection.run_sync(_upgrade)
            else:
                await connection.run_sync(_upgrade_in_one_transaction)
    except (SQLAlchemyError, OSError) as error:
        raise StoreError(f"cannot prepare the state store: {error}") from error


@contextlib.asynccontextmanager
async def _migration_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """On SQLite, one process migrates at a time (`syncwell status` beside a starting run).

    SQLite has no advisory lock, and two migrations at once both try to create the tables. A
    lock file beside the database serialises them; the second then finds nothing to do.
    """
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with Path(f"{database}.migrate.lock").open("a") as lock:  # noqa: ASYNC230 - a tiny file
        await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
