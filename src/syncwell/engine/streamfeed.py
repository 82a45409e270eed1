"""A flow's partition of the transport, read as `FlowDelivery` reads the journal.

`FlowDelivery` takes pending entries, writes them, and completes them. Here the pending entry
is the partition's next message (its id the stream's sequence number), and completing it
records the delivery and its dead letters in the store, then acks the message: a worker that
dies between the two only makes the next one write it again, which idempotent writes absorb.
While a write is retried the message stays held by this worker (each take tells the stream it
is still at work), so no other worker writes the partition's later changes before it.
"""

from __future__ import annotations

from collections.abc import Sequence

from syncwell.store import DeadLetterDraft, DeliveryRecord, Journal, JournalEntry
from syncwell.transport import JetStreamTransport, Received

__all__ = ["StreamFeed"]


class StreamFeed:
    """One flow's partition: the messages in, the deliveries recorded in the store."""

    def __init__(
        self, transport: JetStreamTransport, journal: Journal, partition: int, wait_s: float = 1.0
    ) -> None:
        self._transport = transport
        self._journal = journal
        self._partition = partition
        self._wait_s = wait_s
        self._held: Received | None = None

    async def pending(self, flow: str, *, after: int = 0, max_changes: int) -> list[JournalEntry]:
        """The message held (a write of it failed) or the next one; nothing to read ahead:
        the stream offers the next only once this one is acked."""
        if after:
            return []
        held = self._held
        if held is not None:
            await held.working()
        else:
            held = self._held = await self._transport.receive(
                flow, self._partition, wait_s=self._wait_s
            )
        if held is None:
            return []
        sequence = held.sequence
        return [JournalEntry(sequence, flow, held.batch)]

    async def complete(
        self,
        flow: str,
        entries: Sequence[JournalEntry],
        record: DeliveryRecord,
        dead: Sequence[DeadLetterDraft] = (),
    ) -> None:
        """Record the delivery (and its dead letters) in the store, then ack the message."""
        held = self._held
        assert held is not None and [entry.id for entry in entries] == [held.sequence]
        await self._journal.record(flow, entries, record, dead)
        await held.ack()
        self._held = None
