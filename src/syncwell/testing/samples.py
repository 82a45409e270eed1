"""The records the destination kit writes: made by the user's `SampleRecords`, named by number
(0 to 9) and version (1 to 6), and compared with what the destination holds afterwards."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Protocol, runtime_checkable

from syncwell.engine.guard import key_text
from syncwell.testing.observe import key_text as listed_key
from syncwell.testing.verdicts import mismatches
from syncwell.testing.writes import Listing, batch_of
from syncwell.types import ChangeBatch, Op
from syncwell.workspace import Flow

__all__ = ["SampleRecords", "Samples"]


@runtime_checkable
class SampleRecords(Protocol):
    """Makes the records the destination checks write, as the flow's source holds them."""

    def record(self, number: int, version: int) -> Mapping[str, object]:
        """Record `number` (0 to 9) at `version` (1 to 6), in the source's column names.

        Each number has its own key; each version its own values in a field the destination
        stores, and its own value in the flow's version column (if it has one), growing with
        `version`.
        """
        ...

    def refused(self) -> Mapping[str, object] | None:
        """A record the destination refuses for good (a required field left empty, text
        where it wants a number), keyed apart from the numbered ones; None skips the check."""
        ...


class Samples:
    """The user's records as batches of the flow's columns, keys, and expected values."""

    def __init__(
        self, made: SampleRecords, flow: Flow, compare: Collection[str] | None = None
    ) -> None:
        self.made, self.flow, self.compare = made, flow, compare
        first = made.record(0, 1)
        self.columns = [c for c in first if not flow.fields or c in flow.fields]
        """The columns the flow moves (its `fields`, or every one the records have)."""

    def batch(self, numbers: Collection[int], version: int, op: Op = Op.UPSERT) -> ChangeBatch:
        """Records `numbers` at `version`, as one batch of upserts or deletes."""
        records = [self.made.record(number, version) for number in numbers]
        return batch_of(records, self.columns, op)

    def of(self, records: Collection[Mapping[str, object]]) -> ChangeBatch:
        return batch_of(list(records), self.columns)

    def key(self, number: int) -> tuple[object, ...]:
        return self.key_of(self.made.record(number, 1))

    def key_of(self, record: Mapping[str, object]) -> tuple[object, ...]:
        return tuple(record.get(column) for column in self.flow.key)

    def listed(self, number: int) -> str:
        """The key as the kit finds it in the destination's listing."""
        return listed_key(self.key(number))

    def named(self, number: int) -> str:
        """The key as the engine and the connectors name it (errors, the identity map)."""
        return engine_key(self.key(number))

    def differences(self, listing: Listing, number: int, version: int) -> list[str]:
        """How record `number` in the destination differs from its `version`, in words."""
        expected = {
            self.flow.fields.get(column, column): value
            for column, value in self.made.record(number, version).items()
            if column in self.columns
        }
        found = listing.get(self.listed(number), ())
        name = repr(self.listed(number))
        if not found:
            return [f"record {name} is not there"]
        if len(found) > 1:
            return [f"record {name} is there {len(found)} times"]
        return [f"record {name}: {m}" for m in mismatches(expected, found[0], self.compare)]


def engine_key(key: tuple[object, ...]) -> str:
    """`key` as the engine writes it: the value for one field, a JSON list for several."""
    return key_text(key[0] if len(key) == 1 else key)
