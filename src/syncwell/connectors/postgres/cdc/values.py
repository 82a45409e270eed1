"""Streamed changes typed back by PostgreSQL, one batch per shape of the table.

pgoutput sends values as text. Rather than a parser per type, one query casts a batch's texts
back to their columns' types (``SELECT u.c0::<type>, ... FROM unnest($1::text[], ...)``), so
a streamed change holds exactly what asyncpg reads in the snapshot: Decimal, datetimes with
their zone, arrays, jsonb as text, enums. The types are those of the Relation message the
change came under (the table as it was when the change was made), not the catalog's now: a
column retyped or dropped since would otherwise type a backlog wrongly, or not at all.
"""

from __future__ import annotations

import dataclasses
import time
from itertools import groupby

import asyncpg

from syncwell.connectors.postgres.cdc.transactions import Shape, TextRow, Transaction
from syncwell.connectors.postgres.errors import translated
from syncwell.types import ChangeBatch, Op, Row

__all__ = ["Typist"]

_TYPE_NAMES = (
    "SELECT format_type(t.oid, t.modifier) "
    "FROM unnest($1::oid[], $2::int[]) WITH ORDINALITY AS t(oid, modifier, n) ORDER BY t.n"
)
"""Each (oid, modifier) as SQL writes the type (``numeric(12,2)``), as pg_attribute does."""


class Typist:
    """Types transactions' text values back, with the type names of each shape kept.

    Args:
        system: the source system's name, for errors.
    """

    def __init__(self, system: str) -> None:
        self._system = system
        self._names: dict[Shape, tuple[str, ...]] = {}

    async def batches(
        self, pool: asyncpg.Pool, transactions: list[Transaction]
    ) -> list[ChangeBatch]:
        """The transactions' changes in order, one batch per run of rows of one shape."""
        observed = min((t.committed_at for t in transactions), default=time.time())
        changes = [
            (shape, op, row, kept)
            for t in transactions
            for shape, op, row, kept in zip(t.shapes, t.ops, t.rows, t.kept_keys, strict=True)
        ]
        batches = []
        for shape, run in groupby(changes, key=lambda change: change[0]):
            ops, rows, kept = zip(*((op, row, kept) for _, op, row, kept in run), strict=True)
            batch = await self._batch(pool, shape, list(ops), list(rows), observed)
            known = frozenset(index for index, same in enumerate(kept) if same)
            batches.append(dataclasses.replace(batch, kept_keys=known))
        return batches

    async def _batch(
        self, pool: asyncpg.Pool, shape: Shape, ops: list[Op], texts: list[TextRow], at: float
    ) -> ChangeBatch:
        types = await self._type_names(pool, shape)
        names = [f"c{i}" for i in range(len(types))]
        typed = ", ".join(f"u.{name}::{kind}" for name, kind in zip(names, types, strict=True))
        arrays = ", ".join(f"${i + 1}::text[]" for i in range(len(types)))
        query = (
            f"SELECT {typed} FROM unnest({arrays}) WITH ORDINALITY "
            f"AS u({', '.join(names)}, n) ORDER BY u.n"
        )
        by_column = [list(values) for values in zip(*texts, strict=True)]
        with translated(self._system):
            records = await pool.fetch(query, *by_column)
        rows: list[Row] = [tuple(record) for record in records]
        all_upserts = all(op is Op.UPSERT for op in ops)
        return ChangeBatch(shape.columns, rows, None if all_upserts else ops, at)

    async def _type_names(self, pool: asyncpg.Pool, shape: Shape) -> tuple[str, ...]:
        if shape not in self._names:
            oids = [oid for oid, _ in shape.types]
            modifiers = [modifier for _, modifier in shape.types]
            with translated(self._system):
                found = await pool.fetch(_TYPE_NAMES, oids, modifiers)
            self._names[shape] = tuple(str(row[0]) for row in found)
        return self._names[shape]
