"""Support tickets, one row each keyed by the helpdesk's id: reading them again updates them
(a ticket closed since, a rule changed), so an import is idempotent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, select
from sqlalchemy.ext.asyncio import AsyncEngine

from syncwell.store.database import store_errors
from syncwell.store.schema import tickets
from syncwell.store.upsert import upsert

__all__ = ["Ticket", "Tickets"]

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Ticket:
    """One support ticket as syncwell keeps it."""

    id: str
    integration: str | None
    """The integration its rule names; None when no rule matched."""
    opened_at: float
    closed_at: float | None
    """When it was resolved; None while it is open."""
    subject: str


class Tickets:
    """The tickets read from the workspace's helpdesk."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @store_errors
    async def save(self, found: Sequence[Ticket], *, now: float) -> None:
        """Insert `found`, or update the tickets already kept with the same ids."""
        rows = [
            {
                "id": ticket.id,
                "integration": ticket.integration,
                "opened_at": ticket.opened_at,
                "closed_at": ticket.closed_at,
                "subject": ticket.subject[:500],
                "read_at": now,
            }
            for ticket in found
        ]
        columns = ("integration", "opened_at", "closed_at", "subject", "read_at")

        def write(sync: Connection) -> None:
            for start in range(0, len(rows), _CHUNK):
                upsert(sync, tickets, rows[start : start + _CHUNK], keys=("id",), update=columns)

        async with self._engine.begin() as connection:
            await connection.run_sync(write)

    @store_errors
    async def since(self, since: float) -> list[Ticket]:
        """The tickets opened at or after `since`, or still open, oldest first."""
        table = tickets.c
        query = (
            select(tickets)
            .where((table.opened_at >= since) | table.closed_at.is_(None))
            .order_by(table.opened_at, table.id)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [
            Ticket(
                str(row["id"]),
                row["integration"],
                float(row["opened_at"]),
                None if row["closed_at"] is None else float(row["closed_at"]),
                str(row["subject"]),
            )
            for row in rows
        ]
