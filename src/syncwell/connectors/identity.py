"""Ids a tool assigns: what the engine knows of them for a batch, and what a write learns.

A destination whose tool assigns ids is an `IdentifyingDestination`. The engine hands each
write an `IdentityBook` holding the ids the identity map knows for the batch's keys; the
connector updates and deletes by those ids, creates the records that have none, and writes
each id it learns (a create's answer, a lookup by natural key) into the book at once, so a
record refused later in the same batch loses none of them. The engine stores what the book
learned in the transaction that records the delivery.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from syncwell.types import ChangeBatch, StreamSpec

__all__ = ["IdentifyingDestination", "IdentityBook"]


@dataclass(slots=True)
class IdentityBook:
    """The tool's ids of one batch's records, by key (as `key_text` writes it)."""

    known: dict[str, str] = field(default_factory=dict)
    """Ids the identity map held before the write."""
    uncertain: set[str] = field(default_factory=set)
    """Keys whose create may have reached the tool without syncwell hearing its answer (a
    crash, a timeout): look for the record before creating it again."""
    recreate: set[str] = field(default_factory=set)
    """Keys whose record is missing in the tool and is to be created anew."""
    assigned: dict[str, str] = field(default_factory=dict)
    """Ids learned by this delivery: created, or found by natural key."""
    gone: set[str] = field(default_factory=set)
    """Keys whose record the tool no longer holds."""
    former: dict[str, str] = field(default_factory=dict)
    """The id each key had before its record was found missing in the tool."""
    opened: dict[str, float] = field(default_factory=dict)
    """When each open create of this batch was first noted in the identity map: the same
    for every try of one create, after a crash too, and new for the next create of the key."""
    opening: Callable[[str], Awaitable[float]] | None = None
    """Notes a create as open where it survives a crash (the engine's identity map), and
    says when it was noted."""

    async def open_create(self, key: str) -> None:
        """Note, durably, that `key`'s record is about to be created: call just before the
        create goes out, so a crash before its id is kept leaves the doubt on record."""
        if self.opening is not None and key not in self.uncertain and key not in self.opened:
            self.opened[key] = await self.opening(key)

    def create_token(self, key: str) -> str:
        """What tells one create of `key`'s record from another: the same for every try of
        one create (after a crash too), new when the record is created anew (after it was
        deleted, or found missing). Empty where nothing durable notes creates."""
        former = self.former.get(key)
        if former is not None:
            return f"again {former}"  # a recreate: the id it replaces stays until committed
        opened = self.opened.get(key)
        return "" if opened is None else repr(opened)

    def id_of(self, key: str) -> str | None:
        """The tool's id of `key`'s record, if known and not to be recreated."""
        if key in self.recreate or key in self.gone:
            return None
        return self.assigned.get(key) or self.known.get(key)

    def learn(self, key: str, remote_id: str) -> None:
        """Note the tool's id of `key`'s record (just created, or found)."""
        self.assigned[key] = remote_id
        self.uncertain.discard(key)
        self.recreate.discard(key)
        self.gone.discard(key)

    def lose(self, key: str) -> None:
        """Note that the tool no longer holds `key`'s record."""
        former = self.assigned.pop(key, None) or self.known.pop(key, None)
        self.known.pop(key, None)
        if former is not None:
            self.former[key] = former
        self.gone.add(key)


@runtime_checkable
class IdentifyingDestination(Protocol):
    """A destination that can write by the ids its tool assigned."""

    def assigns_ids(self, stream: StreamSpec) -> bool:
        """Whether the tool assigns the ids of `stream`'s records (the engine then keeps an
        identity map for it)."""
        ...

    async def write_identified(
        self, stream: StreamSpec, batch: ChangeBatch, book: IdentityBook
    ) -> None:
        """`Destination.write`, by the ids in `book`, noting in it every id it learns."""
        ...
