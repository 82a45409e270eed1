"""First syncs: a flow's destination listed, then compared with its source's first read.

The destination's records are kept here as one row each (a match key, a digest of the
compared values, the tool's id), not in memory: the engine compares a page of the source at a
time with them by key, so a first sync over a million records holds a page in Python, and a
crash in the middle resumes without listing the destination again. The rows go when the
first sync finishes; its counts stay, for `syncwell status`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection, RowMapping, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from syncwell.store.database import store_errors
from syncwell.store.schema import checkpoints, first_sync_records, first_syncs

__all__ = ["Counterpart", "FirstSyncState", "FirstSyncs", "ListedRecord", "Note", "Outcome"]

_CHUNK = 500
"""Keys per IN list or per insert: bounded statements whatever the destination's size."""


@dataclass(frozen=True, slots=True)
class FirstSyncState:
    """Where a flow's first sync stands."""

    flow: str
    started_at: float
    listed_at: float | None
    """When the destination's listing finished; None while it has not."""
    finished_at: float | None
    """When the source's first read finished; None while it is under way."""
    columns: tuple[str, ...] | None
    """The columns compared, in the destination's names; None before the listing began."""
    listed: int
    matched: int
    """Records equal on both sides, so not written."""
    differed: int
    """Records on both sides that differed, so written (updates)."""
    unmatched: int | None
    """Destination records that no source record matched (left alone); known at the end."""


@dataclass(frozen=True, slots=True)
class ListedRecord:
    """One destination record as the comparison keeps it."""

    key: str
    digest: bytes
    remote_id: str | None = None


@dataclass(frozen=True, slots=True)
class Counterpart:
    """The destination's record for a match key."""

    digest: bytes
    remote_id: str | None
    copies: int
    """Destination records with this key: more than one, and none of them is matched."""
    claimed: str | None
    """The source key that already matched it; None while none has."""


Outcome = Literal["equal", "differs", "created"]


@dataclass(frozen=True, slots=True)
class Note:
    """What a source record's comparison did to the destination's record at `key`.

    Attributes:
        key: the match key.
        claimed: the source record's key.
        digest: the source record's digest: what the destination holds now, or will hold
            once the journaled change is written (so a look-back re-read of it is dropped).
        outcome: equal (not written), differs (written) or created (none to match).
        first: the first source record to match it (counted as matched or differed).
    """

    key: str
    claimed: str
    digest: bytes
    outcome: Outcome
    first: bool = True


class FirstSyncs:
    """Reads and writes `first_syncs` and `first_sync_records`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @store_errors
    async def state(self, flow: str) -> FirstSyncState | None:
        """The flow's first sync, under way or finished; None when it never had one."""
        query = select(first_syncs).where(first_syncs.c.flow == flow)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        return None if row is None else _state(row)

    @store_errors
    async def states(self) -> dict[str, FirstSyncState]:
        """Every flow's first sync, by flow."""
        async with self._engine.connect() as connection:
            rows = (await connection.execute(select(first_syncs))).mappings().all()
        return {row["flow"]: _state(row) for row in rows}

    @store_errors
    async def begin(self, flow: str, *, at: float) -> None:
        """Start the flow's first sync afresh: what an earlier one kept is dropped."""
        async with self._engine.begin() as connection:
            await _drop(connection, flow)
            await connection.execute(
                insert(first_syncs).values(
                    flow=flow, started_at=at, listed=0, matched=0, differed=0
                )
            )

    @store_errors
    async def list_anew(self, flow: str, columns: Sequence[str]) -> None:
        """Forget the destination's records listed so far: a listing of `columns` begins."""
        async with self._engine.begin() as connection:
            await connection.execute(
                delete(first_sync_records).where(first_sync_records.c.flow == flow)
            )
            await connection.execute(
                update(first_syncs)
                .where(first_syncs.c.flow == flow)
                .values(columns=json.dumps(list(columns)), listed_at=None, listed=0)
            )

    @store_errors
    async def add(self, flow: str, records: Sequence[ListedRecord]) -> None:
        """Keep a page of the destination's records; a key seen twice counts its copies."""
        copies: dict[str, int] = {}
        rows: dict[str, dict[str, object]] = {}
        for record in records:
            copies[record.key] = copies.get(record.key, 0) + 1
            rows.setdefault(
                record.key,
                {
                    "flow": flow,
                    "key": record.key,
                    "digest": record.digest,
                    "remote_id": record.remote_id,
                    "seen": 0,
                },
            )
        values = [{**row, "copies": copies[key]} for key, row in rows.items()]
        async with self._engine.begin() as connection:
            for start in range(0, len(values), _CHUNK):
                await connection.run_sync(_add, values[start : start + _CHUNK], ("copies",))

    @store_errors
    async def listed(self, flow: str, *, at: float, count: int) -> None:
        """Note that the destination's listing finished, with `count` records."""
        async with self._engine.begin() as connection:
            await connection.execute(
                update(first_syncs)
                .where(first_syncs.c.flow == flow)
                .values(listed_at=at, listed=count)
            )

    @store_errors
    async def counterparts(self, flow: str, keys: Iterable[str]) -> dict[str, Counterpart]:
        """The destination's record for each of `keys` it holds one for."""
        wanted = list(dict.fromkeys(keys))
        table = first_sync_records.c
        found: dict[str, Counterpart] = {}
        async with self._engine.connect() as connection:
            for start in range(0, len(wanted), _CHUNK):
                query = select(
                    table.key, table.digest, table.remote_id, table.copies, table.claimed
                ).where(table.flow == flow, table.key.in_(wanted[start : start + _CHUNK]))
                for key, digest, remote, copies, claimed in await connection.execute(query):
                    found[key] = Counterpart(digest, remote, copies, claimed)
        return found

    @store_errors
    async def note(self, flow: str, notes: Sequence[Note]) -> None:
        """Note what a page's comparison found, and count first matches."""
        if not notes:
            return
        table = first_sync_records.c
        by_key = table.key == bindparam("match")
        claim = (
            update(first_sync_records)
            .where(table.flow == flow, by_key, table.seen == 0)
            .values(seen=bindparam("seen"), claimed=bindparam("source"), digest=bindparam("sent"))
        )
        again = update(first_sync_records).where(table.flow == flow, by_key)
        again = again.values(digest=bindparam("sent"))
        first = [n for n in notes if n.first and n.outcome != "created"]
        later = [n for n in notes if not n.first and n.outcome == "differs"]
        created = [n for n in notes if n.outcome == "created"]
        matched = sum(n.outcome == "equal" for n in first)
        async with self._engine.begin() as connection:
            if first:
                await connection.execute(claim, [_params(n) for n in first])
            if later:
                await connection.execute(again, [_params(n) for n in later])
            if created:
                rows = [_created(flow, n) for n in created]
                await connection.run_sync(_add, rows, ("digest",))
            await connection.execute(
                update(first_syncs)
                .where(first_syncs.c.flow == flow)
                .values(
                    matched=first_syncs.c.matched + matched,
                    differed=first_syncs.c.differed + len(first) - matched,
                )
            )

    @store_errors
    async def finish(self, flow: str, *, at: float) -> FirstSyncState | None:
        """End the flow's first sync: count what no source record matched, drop the rows."""
        table = first_sync_records.c
        unmatched = select(func.count()).where(table.flow == flow, table.seen == 0)
        async with self._engine.begin() as connection:
            left = int(await connection.scalar(unmatched) or 0)
            await connection.execute(delete(first_sync_records).where(table.flow == flow))
            await connection.execute(
                update(first_syncs)
                .where(first_syncs.c.flow == flow)
                .values(finished_at=at, unmatched=left)
            )
        return await self.state(flow)

    @store_errors
    async def again(self, flow: str) -> None:
        """Make the flow's next read a first sync again: its checkpoint goes, so the read
        starts from the beginning of the source, and what the last first sync kept goes."""
        async with self._engine.begin() as connection:
            await _drop(connection, flow)
            await connection.execute(delete(checkpoints).where(checkpoints.c.flow == flow))


async def _drop(connection: AsyncConnection, flow: str) -> None:
    await connection.execute(delete(first_sync_records).where(first_sync_records.c.flow == flow))
    await connection.execute(delete(first_syncs).where(first_syncs.c.flow == flow))


def _add(
    connection: Connection, rows: Sequence[dict[str, object]], on_conflict: tuple[str, ...]
) -> None:
    """Insert rows; a key already there adds its copies (a listing: the same key on another
    page matches nothing for sure), or takes the new digest (a record created anew)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(first_sync_records)
    table = first_sync_records.c
    changes = {
        "copies": table.copies + statement.excluded.copies,
        "digest": statement.excluded.digest,
    }
    statement = statement.on_conflict_do_update(
        index_elements=["flow", "key"], set_={name: changes[name] for name in on_conflict}
    )
    connection.execute(statement, list(rows))


def _params(note: Note) -> dict[str, object]:
    seen = {"equal": 1, "differs": 2, "created": 3}[note.outcome]
    return {"match": note.key, "seen": seen, "source": note.claimed, "sent": note.digest}


def _created(flow: str, note: Note) -> dict[str, object]:
    # A record the destination lacked, noted as if listed: a re-read of it is then dropped.
    return {
        "flow": flow,
        "key": note.key,
        "digest": note.digest,
        "remote_id": None,
        "copies": 1,
        "seen": 3,
        "claimed": note.claimed,
    }


def _state(row: RowMapping) -> FirstSyncState:
    columns = row["columns"]
    return FirstSyncState(
        flow=row["flow"],
        started_at=row["started_at"],
        listed_at=row["listed_at"],
        finished_at=row["finished_at"],
        columns=None if columns is None else tuple(json.loads(columns)),
        listed=row["listed"],
        matched=row["matched"],
        differed=row["differed"],
        unmatched=row["unmatched"],
    )
