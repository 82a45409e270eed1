"""Dead letters: changes that failed for good, kept with their reason until fixed and replayed."""

from __future__ import annotations

import builtins
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncEngine

from syncwell.store.codec import decode_batch
from syncwell.store.database import store_errors
from syncwell.store.schema import dead_letters, journal
from syncwell.types import ChangeBatch

__all__ = ["DeadLetter", "DeadLetterStatus", "DeadLetters", "ReplayOutcome"]

DeadLetterStatus = Literal["open", "replayed", "discarded"]

_RESOLVED = ("replayed", "discarded")

ReplayOutcome = Literal["waiting", "delivered", "failed again"]
"""What became of a replayed dead letter: its change still waits in the journal; it left the
journal without failing (written, or dropped by the version guard as older than the
destination's record); or it failed again and is a new dead letter."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One kept change and why it failed."""

    id: int
    flow: str
    key: str
    op: str
    version: str
    reason: str
    error_class: str
    attempts: int
    status: DeadLetterStatus
    created_at: float
    resolved_at: float | None
    replayed_as: int | None
    """The journal entry a replay put the change back as."""
    replayed_after: int | None
    """The newest dead letter's id when it was replayed: one of the same change after it
    means the replay failed again (ids only grow; clocks of two machines may disagree)."""
    batch: ChangeBatch

    @property
    def data(self) -> dict[str, object]:
        """The change's values by column."""
        return dict(zip(self.batch.columns, self.batch.decoded().rows[0], strict=True))


class DeadLetters:
    """Lists, replays and discards dead letters."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @store_errors
    async def list(
        self,
        *,
        flow: str | None = None,
        status: DeadLetterStatus | None = "open",
        limit: int = 100,
        since: float | None = None,
    ) -> builtins.list[DeadLetter]:
        """The newest dead letters, optionally of one flow, one status, and set aside since
        `since` (Unix seconds). Replayed and discarded ones come newest resolved first: the
        one just replayed is at the top, however old it was."""
        table = dead_letters.c
        newest = (table.resolved_at.desc(), table.id.desc()) if status in _RESOLVED else ()
        query = select(dead_letters).order_by(*newest, table.id.desc()).limit(limit)
        if since is not None:
            query = query.where(dead_letters.c.created_at >= since)
        if flow is not None:
            query = query.where(dead_letters.c.flow == flow)
        if status is not None:
            query = query.where(dead_letters.c.status == status)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [_dead_letter(row) for row in rows]

    @store_errors
    async def count(
        self, *, flow: str | None = None, status: DeadLetterStatus | None = None
    ) -> int:
        """How many dead letters there are, optionally of one flow and one status."""
        query = select(func.count()).select_from(dead_letters)
        if flow is not None:
            query = query.where(dead_letters.c.flow == flow)
        if status is not None:
            query = query.where(dead_letters.c.status == status)
        async with self._engine.connect() as connection:
            return int((await connection.execute(query)).scalar_one())

    @store_errors
    async def get(self, dead_letter_id: int) -> DeadLetter | None:
        """One dead letter by id."""
        query = select(dead_letters).where(dead_letters.c.id == dead_letter_id)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        return None if row is None else _dead_letter(row)

    @store_errors
    async def counts(self) -> dict[str, int]:
        """Open dead letters per flow."""
        query = (
            select(dead_letters.c.flow, func.count())
            .where(dead_letters.c.status == "open")
            .group_by(dead_letters.c.flow)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {str(flow): int(count) for flow, count in rows}

    @store_errors
    async def replay(self, ids: Sequence[int]) -> builtins.list[int]:
        """Put open dead letters back in the journal, in one transaction; return the ids moved.

        The change goes to the back of its flow's journal with its original version, so the
        destination's version guard still keeps a newer record from being overwritten.
        """
        return await self._resolve(ids, "replayed", requeue=True)

    @store_errors
    async def discard(self, ids: Sequence[int]) -> builtins.list[int]:
        """Give up on open dead letters for good; return the ids discarded."""
        return await self._resolve(ids, "discarded", requeue=False)

    @store_errors
    async def outcomes(self, letters: Sequence[DeadLetter]) -> dict[int, ReplayOutcome]:
        """What became of each replayed one of `letters`, by id (others are left out)."""
        replayed = [letter for letter in letters if letter.replayed_as is not None]
        if not replayed:
            return {}
        table = dead_letters.c
        waiting = select(journal.c.id).where(
            journal.c.id.in_([letter.replayed_as for letter in replayed])
        )
        again = (
            select(table.flow, table.key, table.version, func.max(table.id))
            .where(
                tuple_(table.flow, table.key).in_({(d.flow, d.key) for d in replayed}),
                table.id > min(letter.replayed_after or 0 for letter in replayed),
            )
            .group_by(table.flow, table.key, table.version)
        )
        async with self._engine.connect() as connection:
            queued = set((await connection.execute(waiting)).scalars())
            newest = {
                (flow, key, version): newest_id
                for flow, key, version, newest_id in await connection.execute(again)
            }

        def outcome(letter: DeadLetter) -> ReplayOutcome:
            if letter.replayed_as in queued:
                return "waiting"
            later = newest.get((letter.flow, letter.key, letter.version), 0)
            return "failed again" if later > (letter.replayed_after or 0) else "delivered"

        return {letter.id: outcome(letter) for letter in replayed}

    async def _resolve(
        self, ids: Sequence[int], status: DeadLetterStatus, *, requeue: bool
    ) -> builtins.list[int]:
        now = time.time()
        # Claim first: the UPDATE takes the write lock, so two operators replaying the same
        # dead letter at once cannot both put it back in the journal.
        claim = (
            update(dead_letters)
            .where(dead_letters.c.id.in_(list(ids)), dead_letters.c.status == "open")
            .values(status=status, resolved_at=now)
            .returning(dead_letters.c.id, dead_letters.c.flow, dead_letters.c.payload)
        )
        async with self._engine.begin() as connection:
            claimed = sorted((await connection.execute(claim)).all())
            newest = (await connection.execute(select(func.max(dead_letters.c.id)))).scalar()
            for dead_letter_id, flow, payload in claimed if requeue else ():
                entry = insert(journal).values(
                    flow=flow, changes=1, observed_at=now, created_at=now, payload=payload
                )
                entry_id = (await connection.execute(entry.returning(journal.c.id))).scalar_one()
                await connection.execute(
                    update(dead_letters)
                    .where(dead_letters.c.id == dead_letter_id)
                    .values(replayed_as=entry_id, replayed_after=newest)
                )
        return [dead_letter_id for dead_letter_id, _, _ in claimed]


def _dead_letter(row: object) -> DeadLetter:
    values = dict(row)  # type: ignore[call-overload]
    values["batch"] = decode_batch(values.pop("payload"))
    return DeadLetter(**values)
