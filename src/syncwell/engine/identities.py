"""The identity map around one flow's deliveries: which ids the tool assigned to the batch's
records, creates noted as open before they are sent, and what the write learned, for the
transaction that records the delivery.

Also the other direction: a flow that reads records back from such a tool carries the tool's
ids as its key, and `translate` turns them into the core's keys before anything compares them
(the record guard's echoes and conflicts are kept by the core's key).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from syncwell.connectors import Destination, assigned_id_field
from syncwell.connectors.identity import IdentifyingDestination, IdentityBook
from syncwell.engine.coalesce import key_getter
from syncwell.engine.guard import key_text
from syncwell.engine.pairs import reverse_of
from syncwell.store import Identities, IdentityChanges, IdentityScope, Store
from syncwell.store.codec import pack_values, unpack_values
from syncwell.types import ChangeBatch, Row
from syncwell.workspace import Flow, Workspace

__all__ = ["FlowIdentities", "ReadBackIds", "Translated", "identity_map", "read_back_ids"]


def identity_map(flow: Flow, writer: Destination, store: Store) -> FlowIdentities | None:
    """The identity map of `flow`'s destination stream, when its tool assigns the ids."""
    spec = flow.destination_spec()
    if not (isinstance(writer, IdentifyingDestination) and writer.assigns_ids(spec)):
        return None
    scope = IdentityScope(flow.destination, flow.target, flow.source)
    return FlowIdentities(scope, flow.key, store.identities)


def read_back_ids(flow: Flow, workspace: Workspace, store: Store) -> ReadBackIds | None:
    """How `flow` maps the ids it reads back from a tool to the core's keys: when it reads a
    stream another flow writes by ids the tool assigns, keyed by that id."""
    forward = reverse_of(flow, workspace.flows)
    if forward is None:
        return None
    field = assigned_id_field(workspace.systems[flow.source].settings, flow.stream)
    if field is None or flow.key != (field,):
        return None
    scope = IdentityScope(flow.source, flow.stream, forward.source)
    return ReadBackIds(scope, field, store.identities)


class FlowIdentities:
    """The identity map of one flow's destination stream."""

    def __init__(self, scope: IdentityScope, key: tuple[str, ...], store: Identities) -> None:
        self.scope = scope
        self._key = key
        self._store = store

    async def book_for(self, batch: ChangeBatch) -> tuple[IdentityBook, dict[str, bytes]]:
        """The ids known for the batch's keys, with its keys' packed values. The book notes
        each create as open in the store, committed, just before the connector sends it."""
        keyed = key_getter(batch.columns, self._key)
        values: dict[str, bytes] = {}
        for row in batch.rows:
            key = keyed(row)
            values[key_text(key)] = pack_values(key if isinstance(key, tuple) else (key,))
        known = await self._store.known(self.scope, values)
        uncertain = {key for key, remote in known.items() if remote is None}
        # A create left open by a crash keeps the time it was noted: its idempotency key
        # (write.idempotency_header) must be the one that create went out with.
        opened = await self._store.opened(self.scope, uncertain) if uncertain else {}

        async def opening(key: str) -> float:
            return await self._store.open_creates(self.scope, {key: values[key]})

        book = IdentityBook(
            known={key: remote for key, remote in known.items() if remote is not None},
            uncertain=uncertain,
            opened=opened,
            opening=opening,
        )
        return book, values

    def changes(self, book: IdentityBook, values: dict[str, bytes]) -> IdentityChanges:
        """What the delivery learned, to commit with it: every create still open is settled
        (the tool refused it, or it was dead-lettered with the doubt in its reason)."""
        assigned = {
            key: (remote, values[key]) for key, remote in book.assigned.items() if key in values
        }
        settled = [key for key in values if key not in assigned and key not in book.gone]
        return IdentityChanges(self.scope, assigned, sorted(book.gone), settled)


@dataclass(frozen=True, slots=True)
class Translated:
    """A batch read back from the tool, keyed by the core's keys, and the rows that could
    not be: records created in the tool, which the core has no key for."""

    batch: ChangeBatch
    unknown: ChangeBatch


class ReadBackIds:
    """Maps the tool's ids in a read-back flow's key column to the core's key values."""

    def __init__(self, scope: IdentityScope, column: str, store: Identities) -> None:
        self.scope = scope
        self._column = column
        self._store = store

    async def translate(self, batch: ChangeBatch) -> Translated:
        batch = batch.decoded()
        at = batch.columns.index(self._column)
        ids = [str(row[at]) for row in batch.rows]
        found = await self._store.keys_of(self.scope, ids)
        mapped: list[int] = []
        rows: list[Row] = []
        for index, (row, remote) in enumerate(zip(batch.rows, ids, strict=True)):
            packed = found.get(remote)
            if packed is None:
                continue
            (core_key,) = unpack_values(packed)  # read-back maps a key of one column
            changed = list(row)
            changed[at] = core_key
            rows.append(tuple(changed))
            mapped.append(index)
        kept_at = set(mapped)
        unknown = batch.select([i for i in range(len(batch)) if i not in kept_at])
        kept = batch.select(mapped)
        return Translated(dataclasses.replace(kept, rows=rows), unknown)
