"""The two Protocols every connector implements, and the shape of a connector kind.

A connector kind is a module (or package) that exposes:

* ``Settings``: a frozen pydantic model with ``kind: Literal["<kind>"]``, validated from the
  system's entry in ``syncwell.yaml``;
* ``open_source(name, settings)`` and/or ``open_destination(name, settings)``: coroutines that
  connect and return a `Source` or a `Destination`.

A source that can list its keys more cheaply than it reads its records is also a `KeyLister`:
flows with `deletes: {detect: scan}` need one to find records gone without a tombstone.

Connectors translate their library's errors into `syncwell.errors` at the boundary, so the
engine can decide by class: retry, dead-letter, or open the breaker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol, runtime_checkable

from syncwell.types import ChangeBatch, Checkpoint, Row, StreamSpec

__all__ = ["Destination", "KeyLister", "Source"]


class Source(Protocol):
    """Reads a stream's changes from a system, resuming from a checkpoint."""

    def read(
        self, stream: StreamSpec, checkpoint: Checkpoint | None
    ) -> AsyncIterator[tuple[ChangeBatch, Checkpoint]]:
        """Yield batches of changes, each with the checkpoint that covers it.

        The iterator ends when the source has nothing newer; the engine calls `read` again on
        its next interval with the last checkpoint it committed. A checkpoint must let a read
        resume right after its batch, and reading twice from the same checkpoint must be safe.
        """
        ...

    async def estimate(self, stream: StreamSpec) -> int | None:
        """Roughly how many records the stream holds (for progress on a first read)."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class KeyLister(Protocol):
    """A source that lists the keys a stream holds (a key scan), page by page."""

    def keys(self, stream: StreamSpec) -> AsyncIterator[Sequence[Row]]:
        """Yield pages of the key values (`stream.key`'s columns, in order) of every record.

        The listing must be complete when the iterator ends normally: a source that cannot be
        sure (an error, a page cap, a total that does not match what it listed) raises
        instead, so that no key is taken for deleted because the listing stopped short.
        """
        ...


class Destination(Protocol):
    """Writes batches of changes to a system, idempotently and guarded by version."""

    async def write(self, stream: StreamSpec, batch: ChangeBatch) -> None:
        """Apply the batch: upserts and deletes keyed by `stream.key`.

        The batch holds at most one change per key (the engine coalesces). Writing the same
        batch twice changes nothing the second time, and a change whose `stream.version` is
        older than the stored record's never overwrites it.

        Raises:
            TransientError: the write may succeed if tried again.
            RecordRejectedError: the destination refused a record for good.
            IntegrationFatalError: nothing will succeed until a person acts.
        """
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
