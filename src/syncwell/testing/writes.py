"""How the destination kit writes: as the engine's delivery does, one batch at a time.

Each delivery opens a new connection to the destination (as a new run, or a restart, would:
a connector's memory of what it sent is empty), screens the batch with the engine's record
guard where the destination does not compare versions itself, hands a destination whose tool
assigns ids the identity map's book, and stores what the book learned once the delivery ends,
refused records included. A record the destination refuses is set aside as the engine does:
by the key the error names, else by halving the batch until it stands alone.

The kit reads what the destination holds with that kind's own source (as `observe` does),
but as a list: two records with one key are a duplicate to count, not one to overwrite.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from syncwell.connectors import Destination, open_destination, open_source
from syncwell.connectors.identity import IdentifyingDestination, IdentityBook
from syncwell.engine.coalesce import key_getter
from syncwell.engine.guard import RecordGuard, key_text
from syncwell.engine.identities import FlowIdentities, identity_map
from syncwell.engine.pairs import guard_plan
from syncwell.errors import RecordRejectedError
from syncwell.store import IdentityChanges, Store
from syncwell.store.codec import pack_values
from syncwell.testing.observe import key_text as listed_key
from syncwell.types import ChangeBatch, Op, Row, StreamSpec
from syncwell.workspace import Flow, Workspace

__all__ = ["Delivered", "KitWriter", "Listing", "batch_of"]

Listing = Mapping[str, Sequence[Mapping[str, object]]]
"""The destination's records by key (as the kit names keys: text, `|` between fields)."""


@dataclass(slots=True)
class Delivered:
    """What one delivery did.

    Attributes:
        refused: the records set aside, by key (the engine's key text), with the error.
        unnamed: how many of them only halving found (the error named no key).
        stale: changes the engine's record guard dropped before the write.
        book: the identity book of the delivery (None where the tool does not assign ids).
    """

    refused: dict[str, RecordRejectedError] = field(default_factory=dict)
    unnamed: int = 0
    stale: int = 0
    book: IdentityBook | None = None


class KitWriter:
    """Writes batches of `flow`'s source records to its destination, as the engine would."""

    def __init__(self, workspace: Workspace, flow: Flow, store: Store) -> None:
        self.workspace, self.flow, self.store = workspace, flow, store
        plan = guard_plan(flow, workspace)
        self.guard = (
            None if plan is None else RecordGuard(plan, store.record_versions, store.journal)
        )
        self.spec = flow.destination_spec()
        self.identities: FlowIdentities | None = None
        self._keyed = flow.key

    async def start(self) -> None:
        """Learn whether the destination's tool assigns ids (then keep an identity map)."""
        system = self.workspace.systems[self.flow.destination]
        writer = await open_destination(system.name, system.settings)
        try:
            self.identities = identity_map(self.flow, writer, self.store)
        finally:
            await writer.aclose()

    async def deliver(
        self, batch: ChangeBatch, *, isolate: bool = True, crash: bool = False
    ) -> Delivered:
        """Deliver `batch` (in the source's column names) over a new connection.

        Args:
            batch: the changes.
            isolate: set refused records aside as the engine does; False raises the first
                `RecordRejectedError` (its identity changes still stored).
            crash: end as a kill -9 after the write would: what the book learned is never
                stored (the creates it noted as open stay open).
        """
        done = Delivered()
        if self.guard is not None:
            batch, tally = await self.guard.screen(batch)
            done.stale = tally.stale
            await self.guard.remember(batch, dict(self.flow.fields))
        if not len(batch):
            return done
        values: dict[str, bytes] = {}
        if self.identities is not None:
            done.book, values = await self.identities.book_for(batch)
        system = self.workspace.systems[self.flow.destination]
        writer = await open_destination(system.name, system.settings)
        try:
            await self._isolating(writer, batch, done, isolate)
        finally:
            await writer.aclose()
            if self.identities is not None and done.book is not None and not crash:
                await self.store.identities.apply(self.identities.changes(done.book, values))
        return done

    async def remember_id(self, key: Row, remote: str) -> None:
        """Store `remote` as the tool's id of `key`'s record (as a person settling a dead
        letter would, or to leave the map holding the id of a record the tool lost)."""
        assert self.identities is not None, "only for a tool that assigns ids"
        changes = IdentityChanges(
            self.identities.scope, {key_text(_one(key)): (remote, pack_values(key))}
        )
        await self.store.identities.apply(changes)

    async def known(self, key: Row) -> str | None:
        """The id the identity map holds for `key`'s record."""
        if self.identities is None:
            return None
        text = key_text(_one(key))
        return (await self.store.identities.known(self.identities.scope, [text])).get(text)

    async def listing(self) -> Listing:
        """Every record the destination holds now, by key."""
        system = self.workspace.systems[self.flow.destination]
        whole = StreamSpec(name=self.spec.name, key=self.spec.key, batch_size=500)
        source = await open_source(system.name, system.settings)
        found: dict[str, list[Mapping[str, object]]] = {}
        try:
            async for batch, _ in source.read(whole, None):
                batch = batch.decoded()
                for row in batch.rows:
                    record = dict(zip(batch.columns, row, strict=True))
                    key = listed_key(tuple(record.get(column) for column in self.spec.key))
                    found.setdefault(key, []).append(record)
        finally:
            await source.aclose()
        return found

    async def _isolating(
        self, writer: Destination, batch: ChangeBatch, done: Delivered, isolate: bool
    ) -> None:
        pending = [batch]
        while pending:
            part = pending.pop(0)
            try:
                await self._write(writer, part, done.book)
            except RecordRejectedError as error:
                if not isolate:
                    raise
                keys = self._keys(part)
                if error.key is not None and error.key in keys:
                    at = keys.index(error.key)
                elif len(part) == 1:
                    at, done.unnamed = 0, done.unnamed + 1
                else:
                    middle = len(part) // 2
                    pending[:0] = [
                        part.select(range(middle)),
                        part.select(range(middle, len(part))),
                    ]
                    continue
                done.refused[keys[at]] = error
                rest = [i for i in range(len(part)) if i != at]
                if rest:
                    pending.insert(0, part.select(rest))

    async def _write(
        self, writer: Destination, batch: ChangeBatch, book: IdentityBook | None
    ) -> None:
        columns = tuple(self.flow.fields.get(column, column) for column in batch.columns)
        renamed = dataclasses.replace(batch, columns=columns)
        if book is not None and isinstance(writer, IdentifyingDestination):
            await writer.write_identified(self.spec, renamed, book)
        else:
            await writer.write(self.spec, renamed)

    def _keys(self, batch: ChangeBatch) -> list[str]:
        keyed = key_getter(batch.columns, self._keyed)
        return [key_text(keyed(row)) for row in batch.decoded().rows]


def _one(key: Row) -> object:
    """A key as `key_getter` gives it: the value alone for a key of one field."""
    return key[0] if len(key) == 1 else tuple(key)


def batch_of(
    records: Sequence[Mapping[str, object]], columns: Sequence[str], op: Op = Op.UPSERT
) -> ChangeBatch:
    """The records as one batch of `columns` (absent values are None)."""
    rows = [tuple(record.get(column) for column in columns) for record in records]
    ops = None if op is Op.UPSERT else [op] * len(rows)
    return ChangeBatch(tuple(columns), rows, ops)
