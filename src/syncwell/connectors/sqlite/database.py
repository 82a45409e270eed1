"""One SQLite connection, used from a worker thread so the event loop never blocks on disk."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from syncwell.connectors.sqlite.settings import Settings
from syncwell.errors import IntegrationFatalError, RecordRejectedError, TransientError

__all__ = ["SqliteDatabase", "to_sqlite"]

T = TypeVar("T")


def to_sqlite(value: object) -> object:
    """A value SQLite can store, chosen to read back the way other databases wrote it."""
    if value is None or isinstance(value, str | int | float | bytes):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, default=str)
    return str(value)


class SqliteDatabase:
    """A SQLite file shared by a system's source and destination, one statement at a time."""

    def __init__(self, name: str, settings: Settings) -> None:
        self.name = name
        self._path = Path(settings.path)
        self._timeout = settings.busy_timeout_s
        self._lock = asyncio.Lock()
        self._connection: sqlite3.Connection | None = None

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` on the connection in a thread, translating SQLite's errors."""
        async with self._lock:
            return await asyncio.to_thread(self._run, work)

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._translated():
            if self._connection is None:
                if not self._path.parent.exists():
                    raise IntegrationFatalError(
                        f"folder {self._path.parent} does not exist; create it or fix the "
                        "system's path in syncwell.yaml",
                        system=self.name,
                    )
                self._connection = sqlite3.connect(
                    self._path,
                    timeout=self._timeout,
                    isolation_level=None,
                    check_same_thread=False,
                )
                self._connection.execute("PRAGMA journal_mode=WAL")
            return work(self._connection)

    async def close(self) -> None:
        async with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.IntegrityError as error:
            raise RecordRejectedError(str(error), system=self.name, reason=str(error)) from error
        except sqlite3.OperationalError as error:
            text = str(error)
            # SQLite reports a busy lock and a missing table with the same class; the first
            # passes, the second needs a person. The error code tells them apart.
            code = getattr(error, "sqlite_errorcode", None)
            if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR):
                raise TransientError(text, system=self.name) from error
            raise IntegrationFatalError(text, system=self.name) from error
        except (sqlite3.DataError, sqlite3.InterfaceError) as error:
            raise RecordRejectedError(str(error), system=self.name, reason=str(error)) from error
        except sqlite3.DatabaseError as error:
            raise IntegrationFatalError(str(error), system=self.name) from error
