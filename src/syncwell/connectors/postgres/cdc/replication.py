"""One logical replication connection, driven from asyncio through a thread of its own.

psycopg2 is the library that speaks PostgreSQL's replication protocol (asyncpg and psycopg 3
do not; docs/decisions/0024-cdc-by-logical-replication.md). Its calls block, and its
connections are not to be shared between threads, so every call of a `Replication` runs in
the one worker thread it owns; the event loop only awaits them.

The slot's confirmed position moves by `confirm(lsn)`, which the capture calls only after the
changes up to `lsn` are committed to the journal. psycopg2 also moves it on its own when a
keepalive arrives and every data message it handed over was confirmed; that is safe here
because protocol version 1 sends each transaction whole while it decodes its commit record,
so a keepalive sent in the middle of one carries a position before that commit (the server
then streams the transaction again after a restart), and one sent after it follows the
transaction's Commit message, whose position is past what the capture confirmed until it
journals it.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import psycopg2
import psycopg2.extensions
import psycopg2.extras

from syncwell.connectors._sql import quote
from syncwell.connectors.postgres import pgoutput
from syncwell.errors import IntegrationFatalError, TransientError

__all__ = ["CreatedSlot", "Received", "Replication"]

T = TypeVar("T")

_SESSION = "-c DateStyle=ISO -c IntervalStyle=postgres -c extra_float_digits=3 -c TimeZone=UTC"
"""Values leave the walsender in their text form: in ISO dates, exact floats, UTC."""
_FATAL_CLASSES = ("28", "42", "3D", "3F", "55000")  # auth, undefined or privilege, no
# database, and a server not in the state for it (wal_level is not logical). A slot in use
# (55006) is transient: a run that just ended may still hold it for a moment.
_GATHER_S = 0.05
"""How long a read gathers transactions: it returns at the first Commit after this (or
after a quiet 5 ms once this has passed). Each read costs the engine a round of its own
(values typed, a journal commit, the slot confirmed, a delivery), so a read per transaction
at 1,000 changes a second spent about 45% of a core on those rounds; and a steady load is
never quiet for 5 ms, so a read without a limit went on to `enough` messages or its whole
wait, half a second of latency at 5,000 changes a second (bench/cdc_latency.py)."""


@dataclass(frozen=True, slots=True)
class CreatedSlot:
    """A slot just created: where its stream starts and the snapshot exported at that point."""

    consistent_point: int
    snapshot: str


@dataclass(frozen=True, slots=True)
class Received:
    """A decoded message and the position the server sent it at."""

    lsn: int
    message: pgoutput.Message


@contextmanager
def _translated(system: str) -> Iterator[None]:
    """psycopg2's errors as syncwell's: a broken connection is transient, a refusal fatal."""
    try:
        yield
    except psycopg2.Error as error:
        state = str(error.pgcode or "")
        message = f"replication: {type(error).__name__} ({state or 'no SQLSTATE'}): {error}"
        message = message.strip()
        if state.startswith(_FATAL_CLASSES):
            raise IntegrationFatalError(message, system=system) from error
        raise TransientError(message, system=system) from error
    except OSError as error:
        raise TransientError(f"replication: {error}", system=system) from error
    except ValueError as error:  # a message the decoder cannot read: trying again won't
        raise IntegrationFatalError(f"replication: {error}", system=system) from error


class Replication:
    """A replication connection to one database, used by one capture.

    Args:
        dsn: the system's libpq URL.
        system: the system's name, for errors and `application_name`.
        connect_timeout_s: seconds to wait for the connection.
    """

    def __init__(self, dsn: str, system: str, connect_timeout_s: float) -> None:
        self._dsn = dsn
        self._system = system
        self._timeout = connect_timeout_s
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=f"syncwell-cdc-{system}")
        self._connection: psycopg2.extensions.connection | None = None
        self._cursor: psycopg2.extras.ReplicationCursor | None = None
        self._closed = False
        self.wal_end = 0
        """How far the server has sent the stream (its last message or keepalive): every
        transaction that committed before it has been received. Read between calls."""

    async def _call(self, function: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, function)

    async def connect(self) -> None:
        """Open the connection (in replication=database mode)."""
        await self._call(self._connect)

    def _connect(self) -> None:
        with _translated(self._system):
            self._connection = psycopg2.connect(
                self._dsn,
                connection_factory=psycopg2.extras.LogicalReplicationConnection,
                connect_timeout=max(1, int(self._timeout)),
                application_name=f"syncwell:{self._system}:cdc",
                options=_SESSION,
            )
            self._cursor = self._connection.cursor()

    def _live(self) -> psycopg2.extras.ReplicationCursor:
        if self._cursor is None:
            raise TransientError("replication: not connected", system=self._system)
        return self._cursor

    async def create_slot(self, slot: str) -> CreatedSlot:
        """Create a logical slot for pgoutput, exporting the snapshot of its starting point.

        The snapshot stays importable (SET TRANSACTION SNAPSHOT) until this connection runs
        its next command; psycopg2's own create_replication_slot cannot ask for it.
        """

        def create() -> CreatedSlot:
            cursor = self._live()
            with _translated(self._system):
                cursor.execute(f"CREATE_REPLICATION_SLOT {quote(slot)} LOGICAL pgoutput "
                               "EXPORT_SNAPSHOT")  # fmt: skip
                row = cursor.fetchone()
            assert row is not None
            return CreatedSlot(pgoutput.parse_lsn(str(row[1])), str(row[2]))

        return await self._call(create)

    async def start(self, slot: str, publication: str, lsn: int) -> None:
        """Stream the slot's changes from `lsn` (or from its confirmed position, if later)."""

        def start() -> None:
            with _translated(self._system):
                self._live().start_replication(
                    slot_name=slot,
                    slot_type=psycopg2.extras.REPLICATION_LOGICAL,
                    start_lsn=lsn,
                    options={"proto_version": "1", "publication_names": publication},
                    decode=False,
                    status_interval=5,
                )

        await self._call(start)

    async def receive(self, wait_s: float, enough: int) -> list[Received]:
        """The messages that arrive within `wait_s`, returning early once `enough` arrived
        and a transaction has just ended (a Commit), so batches end on whole transactions."""
        return await self._call(lambda: self._receive(wait_s, enough))

    def _receive(self, wait_s: float, enough: int) -> list[Received]:
        try:
            return self._read(wait_s, enough)
        finally:
            if self._cursor is not None:
                self.wal_end = int(self._cursor.wal_end or 0)

    def _read(self, wait_s: float, enough: int) -> list[Received]:
        cursor = self._live()
        received: list[Received] = []
        deadline = time.monotonic() + wait_s
        first = 0.0
        with _translated(self._system):
            while True:
                message = cursor.read_message()
                if message is not None:
                    decoded = pgoutput.decode(bytes(message.payload))
                    if not received:
                        first = time.monotonic()
                    received.append(Received(message.data_start, decoded))
                    if isinstance(decoded, pgoutput.Commit) and (
                        len(received) >= enough or time.monotonic() - first >= _GATHER_S
                    ):
                        return received
                    continue
                now = time.monotonic()
                left = deadline - now
                if left <= 0:
                    return received
                whole = bool(received) and isinstance(received[-1].message, pgoutput.Commit)
                if whole:  # a moment for the next; the batch is whole
                    left = min(left, max(0.005, first + _GATHER_S - now))
                ready, _, _ = select.select([cursor], [], [], left)
                if not ready and whole and time.monotonic() - first >= _GATHER_S:
                    return received

    async def confirm(self, lsn: int) -> None:
        """Tell the server the changes up to `lsn` are kept: the slot may release the WAL
        before it."""

        def confirm() -> None:
            with _translated(self._system):
                self._live().send_feedback(flush_lsn=lsn, force=True)  # type: ignore[no-untyped-call]

        await self._call(confirm)

    async def aclose(self) -> None:
        """Close the connection and the thread (once; again does nothing)."""
        if self._closed:
            return
        self._closed = True

        def close() -> None:
            if self._connection is not None:
                with contextlib.suppress(psycopg2.Error):  # a broken one: nothing to do
                    self._connection.close()
                self._connection = self._cursor = None

        try:
            await self._call(close)
        finally:
            self._thread.shutdown(wait=False)
