"""The identity map: each record's key in one system and the id another tool assigned to it.

Most APIs assign their own ids and have no upsert. Writing a record there a second time means
knowing the id its create returned, so the id is kept here, in the transaction that records
the delivery. A create is noted as open (a row without an id) before the tool is asked: a
crash after the tool created the record and before its id was stored leaves that row behind,
and the next write of the record looks for it in the tool before it creates it again.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Connection, and_, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from syncwell.store.database import store_errors
from syncwell.store.schema import identities
from syncwell.store.upsert import upsert

__all__ = ["Identities", "IdentityChanges", "IdentityScope", "apply_identities"]

_CHUNK = 500
"""Keys per IN list: bounded statements whatever the batch."""


@dataclass(frozen=True, slots=True)
class IdentityScope:
    """One map: the tool and stream that assign ids, and the system whose keys they match."""

    system: str
    stream: str
    peer: str


@dataclass(frozen=True, slots=True)
class IdentityChanges:
    """What one delivery learned of a map, committed with the delivery."""

    scope: IdentityScope
    assigned: Mapping[str, tuple[str, bytes]] = field(default_factory=dict)
    """key -> (the tool's id, the key's packed values): created, found, or matched."""
    gone: Iterable[str] = ()
    """Keys whose record the tool no longer holds: their ids are forgotten."""
    settled: Iterable[str] = ()
    """Keys whose open create ended without an id (refused, or given up): no longer open."""


class Identities:
    """Reads and writes `identities`, a batch of keys at a time."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @store_errors
    async def known(self, scope: IdentityScope, keys: Iterable[str]) -> dict[str, str | None]:
        """The tool's id of each key it has one for; None where a create is still open."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, str | None] = {}
        async with self._engine.connect() as connection:
            for start in range(0, len(wanted), _CHUNK):
                query = select(identities.c.key, identities.c.remote_id).where(
                    _in(scope), identities.c.key.in_(wanted[start : start + _CHUNK])
                )
                found.update(
                    (key, remote) for key, remote in (await connection.execute(query)).all()
                )
        return found

    @store_errors
    async def keys_of(self, scope: IdentityScope, remote_ids: Iterable[str]) -> dict[str, bytes]:
        """The packed key values of each tool id the map knows, by id."""
        wanted = list(dict.fromkeys(remote_ids))
        found: dict[str, bytes] = {}
        async with self._engine.connect() as connection:
            for start in range(0, len(wanted), _CHUNK):
                query = select(identities.c.remote_id, identities.c.key_values).where(
                    _in(scope), identities.c.remote_id.in_(wanted[start : start + _CHUNK])
                )
                for remote_id, values in (await connection.execute(query)).all():
                    if remote_id is not None:
                        found[remote_id] = values
        return found

    @store_errors
    async def open_creates(self, scope: IdentityScope, keys: Mapping[str, bytes]) -> float:
        """Note creates about to be sent for `keys` (key -> packed values), committed before
        the tool is asked; keys the map already holds are left as they are. Returns the
        time noted, which `opened` gives back for the creates still open."""
        now = time.time()
        if not keys:
            return now
        rows = [_row(scope, key, values, None, now) for key, values in keys.items()]
        async with self._engine.begin() as connection:
            await connection.run_sync(_insert_new, rows)
        return now

    @store_errors
    async def opened(self, scope: IdentityScope, keys: Iterable[str]) -> dict[str, float]:
        """When each of `keys` whose create is still open was noted by `open_creates`."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, float] = {}
        async with self._engine.connect() as connection:
            for start in range(0, len(wanted), _CHUNK):
                query = select(identities.c.key, identities.c.updated_at).where(
                    _in(scope),
                    identities.c.key.in_(wanted[start : start + _CHUNK]),
                    identities.c.remote_id.is_(None),
                )
                found.update((key, at) for key, at in (await connection.execute(query)).all())
        return found

    @store_errors
    async def apply(self, changes: IdentityChanges) -> None:
        """Commit `changes` on their own (ids matched without a delivery to record)."""
        async with self._engine.begin() as connection:
            await apply_identities(connection, changes)

    @store_errors
    async def count(self, scope: IdentityScope) -> tuple[int, int]:
        """How many keys the map holds an id for, and how many creates are open."""
        query = select(
            func.count(identities.c.remote_id), func.count() - func.count(identities.c.remote_id)
        ).where(_in(scope))
        async with self._engine.connect() as connection:
            mapped, open_ = (await connection.execute(query)).one()
        return int(mapped), int(open_ or 0)


async def apply_identities(connection: AsyncConnection, changes: IdentityChanges) -> None:
    """Apply `changes` in the caller's transaction (the one recording the delivery)."""
    scope = changes.scope
    gone, settled = list(changes.gone), list(changes.settled)
    for start in range(0, len(gone), _CHUNK):
        chunk = gone[start : start + _CHUNK]
        await connection.execute(delete(identities).where(_in(scope), identities.c.key.in_(chunk)))
    for start in range(0, len(settled), _CHUNK):
        chunk = settled[start : start + _CHUNK]
        await connection.execute(
            delete(identities).where(
                _in(scope), identities.c.key.in_(chunk), identities.c.remote_id.is_(None)
            )
        )
    if changes.assigned:
        now = time.time()
        rows = [
            _row(scope, key, values, remote_id, now)
            for key, (remote_id, values) in changes.assigned.items()
        ]
        await connection.run_sync(
            upsert,
            identities,
            rows,
            keys=("system", "stream", "peer", "key"),
            update=("key_values", "remote_id", "updated_at"),
        )


def _row(
    scope: IdentityScope, key: str, values: bytes, remote_id: str | None, now: float
) -> dict[str, object]:
    return {
        "system": scope.system,
        "stream": scope.stream,
        "peer": scope.peer,
        "key": key,
        "key_values": values,
        "remote_id": remote_id,
        "updated_at": now,
    }


def _in(scope: IdentityScope) -> ColumnElement[bool]:
    return and_(
        identities.c.system == scope.system,
        identities.c.stream == scope.stream,
        identities.c.peer == scope.peer,
    )


def _insert_new(connection: Connection, rows: Sequence[Mapping[str, object]]) -> None:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    connection.execute(dialect.insert(identities).on_conflict_do_nothing(), list(rows))
