"""What syncwell saw of and wrote to each record of a system, where it needs to remember.

Two jobs need it. A destination that cannot compare versions itself (an HTTP API) is guarded
here: a change older than what was seen or written there is not sent. And in two-way sync a
change that comes back with the values syncwell wrote is its own echo. Versions and values
are stored as the engine's comparable forms (numbers, text), packed with msgpack.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import msgpack
from sqlalchemy import Connection, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from syncwell.store.database import store_errors
from syncwell.store.schema import record_versions
from syncwell.store.upsert import upsert
from syncwell.versions import Comparable

__all__ = ["RecordState", "RecordVersions", "SeenVersions", "note_seen", "seen_versions"]


@dataclass(frozen=True, slots=True)
class RecordState:
    """One record of one system, as syncwell last saw and wrote it."""

    seen_version: Comparable | None
    written_version: Comparable | None
    written_values: Mapping[str, object] | None


@dataclass(frozen=True, slots=True)
class SeenVersions:
    """The newest versions taken in from one stream of a system, by key, to note as seen."""

    system: str
    stream: str
    versions: Mapping[str, Comparable | None]


class RecordVersions:
    """Reads and writes `record_versions`, a batch of keys at a time."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @store_errors
    async def states(self, system: str, stream: str, keys: Iterable[str]) -> dict[str, RecordState]:
        """The known state of each of `keys` (keys never seen nor written are left out)."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, RecordState] = {}
        async with self._engine.connect() as connection:
            for start in range(0, len(wanted), 500):  # bound the IN list
                chunk = wanted[start : start + 500]
                found.update(await connection.run_sync(_states, system, stream, chunk))
        return found

    @store_errors
    async def note_written(
        self,
        system: str,
        stream: str,
        written: Sequence[tuple[str, Comparable | None, Mapping[str, object] | None]],
    ) -> None:
        """Remember (key, version, values) as what syncwell is writing to `system`."""
        now = time.time()
        rows = [
            {
                "system": system,
                "stream": stream,
                "key": key,
                "written_version": _pack(version),
                "written_values": None if values is None else _pack(dict(values)),
                "updated_at": now,
            }
            for key, version, values in written
        ]
        async with self._engine.begin() as connection:
            await connection.run_sync(
                upsert,
                record_versions,
                rows,
                keys=("system", "stream", "key"),
                update=("written_version", "written_values", "updated_at"),
            )

    @store_errors
    async def forget_written(self, system: str, stream: str, keys: Iterable[str]) -> None:
        """Forget the values written to these records: their echo has come back."""
        table = record_versions.c
        wanted = list(keys)
        async with self._engine.begin() as connection:
            for start in range(0, len(wanted), 500):
                await connection.execute(
                    update(record_versions)
                    .where(
                        table.system == system,
                        table.stream == stream,
                        table.key.in_(wanted[start : start + 500]),
                    )
                    .values(written_values=None)
                )

    @store_errors
    async def note_seen(
        self, system: str, stream: str, seen: Mapping[str, Comparable | None]
    ) -> None:
        """Remember each key's newest version taken in from `system`."""
        async with self._engine.begin() as connection:
            await connection.run_sync(note_seen, system, stream, seen)


def note_seen(
    connection: Connection, system: str, stream: str, seen: Mapping[str, Comparable | None]
) -> None:
    """`RecordVersions.note_seen` in the caller's transaction (the webhook inbox's)."""
    now = time.time()
    rows: list[dict[str, object]] = [
        {
            "system": system,
            "stream": stream,
            "key": key,
            "seen_version": _pack(version),
            "updated_at": now,
        }
        for key, version in seen.items()
    ]
    upsert(
        connection,
        record_versions,
        rows,
        keys=("system", "stream", "key"),
        update=("seen_version", "updated_at"),
    )


def seen_versions(
    connection: Connection, system: str, stream: str, keys: list[str]
) -> dict[str, Comparable | None]:
    """The newest version seen of each of `keys`, in the caller's transaction."""
    states = _states(connection, system, stream, keys)
    return {key: state.seen_version for key, state in states.items()}


def _states(
    connection: Connection, system: str, stream: str, keys: list[str]
) -> dict[str, RecordState]:
    table = record_versions.c
    query = select(
        table.key, table.seen_version, table.written_version, table.written_values
    ).where(table.system == system, table.stream == stream, table.key.in_(keys))
    return {
        key: RecordState(
            cast("Comparable | None", _unpack(seen)),
            cast("Comparable | None", _unpack(written)),
            cast("Mapping[str, object] | None", _unpack(values)),
        )
        for key, seen, written, values in connection.execute(query).all()
    }


def _pack(value: object) -> bytes | None:
    if value is None:
        return None
    packed: bytes = msgpack.packb(value)
    return packed


def _unpack(payload: bytes | None) -> object:
    return None if payload is None else msgpack.unpackb(payload, strict_map_key=False)
