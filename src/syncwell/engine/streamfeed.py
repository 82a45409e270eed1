"""A flow's partition of the transport, read as `FlowDelivery` reads the journal.

`FlowDelivery` takes pending entries, writes them, and completes them. Here the pending entry
is the partition's next message (its id the stream's sequence number), and completing it
records the delivery and its dead letters in the store, then acks the message: a worker that
dies between the two only makes the next one write it again, which idempotent writes absorb.

While a message is held, whether it is being written, retried, or waits for the breaker, the
feed tells the stream every third of ``ack_wait_s`` that it is still at work: no other worker
takes it, and so none writes the partition's later changes before it. On a stop the message
is handed back at once, not after ``ack_wait_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import structlog

from syncwell.errors import TransportError
from syncwell.store import (
    DeadLetterDraft,
    DeliveryRecord,
    IdentityChanges,
    Journal,
    JournalEntry,
)
from syncwell.transport import JetStreamTransport, Received

__all__ = ["StreamFeed"]

log = structlog.get_logger("syncwell.streamfeed")


class StreamFeed:
    """One flow's partition: the messages in, the deliveries recorded in the store."""

    def __init__(
        self,
        transport: JetStreamTransport,
        journal: Journal,
        partition: int,
        *,
        wait_s: float = 25.0,
        stop: asyncio.Event | None = None,
    ) -> None:
        self._transport = transport
        self._journal = journal
        self._partition = partition
        self._wait_s = wait_s
        self._stop = stop or asyncio.Event()
        self._held: Received | None = None
        self._behind = 0
        self._heartbeat: asyncio.Task[None] | None = None

    async def pending(self, flow: str, *, after: int = 0, max_changes: int) -> list[JournalEntry]:
        """The message held (a write of it failed) or the next one, waiting up to `wait_s` for
        it (the server answers as soon as one comes: a long wait only saves idle requests);
        nothing to read ahead: the stream offers the next once this one is acked."""
        if after:
            return []
        if self._held is None:
            self._held = await self._receive(flow)
            if self._held is not None:
                self._behind = self._held.waiting_behind
                self._heartbeat = asyncio.create_task(self._still_at_work(self._held))
        held = self._held
        return [] if held is None else [JournalEntry(held.sequence, flow, held.batch)]

    async def new_dead_letters(
        self, flow: str, drafts: Sequence[DeadLetterDraft]
    ) -> list[DeadLetterDraft]:
        """Those of `drafts` the store does not keep open already (Journal.new_dead_letters)."""
        return await self._journal.new_dead_letters(flow, drafts)

    async def complete(
        self,
        flow: str,
        entries: Sequence[JournalEntry],
        record: DeliveryRecord,
        dead: Sequence[DeadLetterDraft] = (),
        identities: IdentityChanges | None = None,
    ) -> None:
        """Record the delivery (its dead letters and the ids it learned) in the store, then
        ack the message."""
        held = self._held
        if held is None or [entry.id for entry in entries] != [held.sequence]:
            raise TransportError(f"{flow}: completing a message this feed does not hold")
        await self._journal.record(flow, entries, record, dead, identities)
        await held.ack()
        await self._let_go()

    async def _receive(self, flow: str) -> Received | None:
        """The next message, or None after `wait_s` or as soon as the worker stops (a stop
        must not wait out a long poll)."""
        receiving = asyncio.ensure_future(
            self._transport.receive(flow, self._partition, wait_s=self._wait_s)
        )
        stopping = asyncio.ensure_future(self._stop.wait())
        await asyncio.wait({receiving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not receiving.done():
            receiving.cancel()  # a message it had just taken comes back after ack_wait_s
            await asyncio.gather(receiving, return_exceptions=True)
            return None
        return receiving.result()

    def more_behind(self) -> bool:
        """Whether more of the partition waited behind the batch taken last: its write then
        ran at the flow's capacity (the measurements' `busy` time)."""
        return self._behind > 0

    async def release(self) -> None:
        """Hand the held message back (the worker stops): another worker takes it now."""
        held = self._held
        await self._let_go()
        if held is not None:
            with contextlib.suppress(TransportError):  # then it comes back after ack_wait_s
                await held.retry()

    async def _let_go(self) -> None:
        self._held = None
        heartbeat, self._heartbeat = self._heartbeat, None
        if heartbeat is not None:
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)

    async def _still_at_work(self, held: Received) -> None:
        every = self._transport.ack_wait_s / 3
        while True:
            await asyncio.sleep(every)
            try:
                await held.working()
            except TransportError as error:  # NATS away a moment: the next beat may do
                log.warning("could not tell the stream a batch is still held", error=str(error))
