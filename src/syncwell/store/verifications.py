"""What read-after-write verification found, per flow and per field, over the store's history.

The engine reads back records it wrote and compares them with what it sent
(engine/verify.py). Each verification adds its counts here: records read back, records that
came back different, and per field how often, with the newest example. A row per flow and a
row per drifting field: a flow that verifies 10 million records keeps a handful of rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, select
from sqlalchemy.ext.asyncio import AsyncEngine

from syncwell.store.database import store_errors
from syncwell.store.schema import field_drift, verifications
from syncwell.store.upsert import upsert

__all__ = ["FieldDrift", "FlowVerification", "Verifications", "VerifiedBatch"]


@dataclass(frozen=True, slots=True)
class FieldDrift:
    """One field a destination did not keep as it was sent.

    Attributes:
        field: the field, in the destination's names.
        drifted: records whose field came back different.
        last_key: the newest such record's key.
        last_sent: what was sent there, as JSON text.
        last_read: what was read back, as JSON text (``"absent"``: the record lacks the field).
        last_at: when it was read back (Unix seconds).
    """

    field: str
    drifted: int
    last_key: str
    last_sent: str
    last_read: str
    last_at: float


@dataclass(frozen=True, slots=True)
class FlowVerification:
    """A flow's verification over the store's history.

    Attributes:
        flow: the flow.
        verified: written records read back and compared.
        drifted: of those, records with a field that came back different, or gone.
        missing: of those, records the destination did not hold at all.
        first_at: when the first was read back (Unix seconds).
        last_at: when the newest was.
        fields: the drifting fields, most drifted first.
    """

    flow: str
    verified: int
    drifted: int
    missing: int
    first_at: float
    last_at: float
    fields: tuple[FieldDrift, ...] = ()


@dataclass(frozen=True, slots=True)
class VerifiedBatch:
    """What one verification of a flow found, to add to its history."""

    verified: int
    drifted: int
    missing: int
    fields: Mapping[str, int] = field(default_factory=dict)
    """Field -> records whose field came back different."""
    examples: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)
    """Field -> (key, sent, read) of the newest record it drifted in, values as JSON text."""


class Verifications:
    """Adds verifications up per flow and field, and reads them for status and the API."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @store_errors
    async def add(self, flow: str, found: VerifiedBatch, at: float) -> None:
        """Add one verification of `flow` to its history."""
        if not found.verified:
            return
        async with self._engine.begin() as connection:
            await connection.run_sync(_add, flow, found, at)

    @store_errors
    async def verified(self, flow: str) -> int:
        """How many of `flow`'s written records were read back so far."""
        query = select(verifications.c.verified).where(verifications.c.flow == flow)
        async with self._engine.connect() as connection:
            found = (await connection.execute(query)).scalar()
        return int(found or 0)

    @store_errors
    async def of(self, flows: Sequence[str]) -> dict[str, FlowVerification]:
        """The verification of each of `flows` that read anything back, by flow."""
        async with self._engine.connect() as connection:
            totals = (
                await connection.execute(
                    select(verifications).where(verifications.c.flow.in_(list(flows)))
                )
            ).all()
            drifts = (
                await connection.execute(
                    select(field_drift)
                    .where(field_drift.c.flow.in_(list(flows)))
                    .order_by(field_drift.c.drifted.desc(), field_drift.c.field)
                )
            ).all()
        by_flow: dict[str, list[FieldDrift]] = {}
        for row in drifts:
            by_flow.setdefault(row.flow, []).append(
                FieldDrift(
                    row.field, row.drifted, row.last_key, row.last_sent, row.last_read, row.last_at
                )
            )
        return {
            row.flow: FlowVerification(
                row.flow,
                row.verified,
                row.drifted,
                row.missing,
                row.first_at,
                row.last_at,
                tuple(by_flow.get(row.flow, ())),
            )
            for row in totals
        }


def _add(connection: Connection, flow: str, found: VerifiedBatch, at: float) -> None:
    table = verifications.c
    kept = connection.execute(select(verifications).where(table.flow == flow)).first()
    row = {
        "flow": flow,
        "verified": found.verified + (kept.verified if kept else 0),
        "drifted": found.drifted + (kept.drifted if kept else 0),
        "missing": found.missing + (kept.missing if kept else 0),
        "first_at": kept.first_at if kept else at,
        "last_at": at,
    }
    upsert(
        connection,
        verifications,
        [row],
        keys=("flow",),
        update=("verified", "drifted", "missing", "last_at"),
    )
    if not found.fields:
        return
    names = list(found.fields)
    query = select(field_drift.c.field, field_drift.c.drifted).where(
        field_drift.c.flow == flow, field_drift.c.field.in_(names)
    )
    before = {str(row.field): int(row.drifted) for row in connection.execute(query)}
    rows = []
    for name, drifted in found.fields.items():
        key, sent, read = found.examples.get(name, ("", "", ""))
        rows.append(
            {
                "flow": flow,
                "field": name,
                "drifted": drifted + before.get(name, 0),
                "last_key": key,
                "last_sent": sent,
                "last_read": read,
                "last_at": at,
            }
        )
    upsert(
        connection,
        field_drift,
        rows,
        keys=("flow", "field"),
        update=("drifted", "last_key", "last_sent", "last_read", "last_at"),
    )
