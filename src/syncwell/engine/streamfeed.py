"""A flow's partition of the transport, read as `FlowDelivery` reads the journal.

`FlowDelivery` takes pending entries, writes them, and completes them. Here the pending entry
is the partition's next message (its id the stream's sequence number), and completing it
records the delivery and its dead letters in the store, then acks the message: a worker that
dies between the two only makes the next one write it again, which idempotent writes absorb.

While a message is held, whether it is being written, retried, or waits for the breaker, the
feed tells the stream every third of ``ack_wait_s`` that it is still at work: no other worker
takes it, and so none writes the partition's later changes before it. On a stop the message
is handed back at once, not after ``ack_wait_s``.

A worker frozen past ``ack_wait_s`` (SIGSTOP, a GC pause, a VM stall) cannot tell the stream
anything, and the stream gives its message to another worker, which writes it and the
partition's later changes. So every message is fenced (store/leases.py): the feed takes the
partition's lease when the message comes, refusing one older than the lease was last taken
for; it checks the lease just before each write attempt (and a destination that can checks it
again inside its own transaction, connectors/fencing.py); and the delivery is recorded only in
a transaction that finds the lease still this worker's. A worker that was silent past
``ack_wait_s`` (its beats came late: it was frozen) holds nothing any more. A stale batch is
let go: not written, recorded or acknowledged, counted in the lease, and `LeaseLostError` says so
in one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Sequence

import structlog

from syncwell.errors import StoreError, TransportError
from syncwell.store import (
    DeadLetterDraft,
    DeliveryRecord,
    IdentityChanges,
    Journal,
    JournalEntry,
)
from syncwell.store.leases import Claim, Lease, LeaseLostError
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
        self._lease: Lease | None = None
        self._last_word = 0.0
        """When (monotonic) this worker last told the stream it holds the message."""
        self._lapsed = False
        """Whether it once went longer than ``ack_wait_s`` without a word (it was frozen)."""
        self._holder = f"{socket.gethostname()}:{os.getpid()}"
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
            if self._held is None:
                return []
            self._behind = self._held.waiting_behind
            self._last_word, self._lapsed = time.monotonic(), False
            self._heartbeat = asyncio.create_task(self._still_at_work(self._held))
        held = self._held
        if self._lease is None:  # a store that failed the take keeps the message held
            self._lease = await self._take(held)
        return [JournalEntry(held.sequence, flow, held.batch)]

    async def _take(self, held: Received) -> Lease:
        """The partition's lease for `held`; `LeaseLostError` when the message is stale (it waited
        in this worker's socket while it was frozen, and another worker took it since)."""
        claim = Claim(*held.place)
        stream = self._transport.stream
        lease = await self._journal.leases.take(
            stream, held.flow, held.partition, claim, self._holder, time.time()
        )
        if lease is None:  # counted by the take
            await self._let_go()
            why = "another worker took the partition for this message or a later one"
            raise LeaseLostError(held.flow, held.partition, claim, why)
        return lease

    async def still_held(self) -> None:
        """Raise `LeaseLostError` (and let the message go) unless this worker still holds it: it
        was never silent past ``ack_wait_s``, and the lease is still its own. Called just
        before each write, and by a destination inside its write's transaction."""
        held, lease = self._held, self._lease
        if held is None or lease is None:
            raise TransportError(f"{self._transport.stream}: writing a message not held")
        try:
            self._heard_of_lately(lease)
            await self._journal.leases.check(lease)
        except LeaseLostError:
            await self._lost(lease)
            raise

    def _heard_of_lately(self, lease: Lease) -> None:
        """Raise `LeaseLostError` when this worker went silent past ``ack_wait_s``: the stream may
        have given the message to another worker that has not taken the lease yet."""
        silent = time.monotonic() - self._last_word
        ack_wait = self._transport.ack_wait_s
        if self._lapsed or silent > ack_wait:
            self._lapsed = True
            why = (
                f"this worker was silent past ack_wait_s ({ack_wait:g} s): it was paused (a "
                "stop signal, a GC pause, a stalled machine) and the stream gives such a "
                "message to another worker"
            )
            raise LeaseLostError(lease.flow, lease.partition, lease.claim, why)

    async def _lost(self, lease: Lease) -> None:
        """Count the refused batch and let the message go, unacknowledged: whoever holds the
        partition now delivers it."""
        await self._let_go()
        with contextlib.suppress(StoreError):  # a count missed; the refusal still stands
            await self._journal.leases.count_fenced(lease)

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
        ack the message; only while this worker holds the partition's lease."""
        held, lease = self._held, self._lease
        if held is None or lease is None or [entry.id for entry in entries] != [held.sequence]:
            raise TransportError(f"{flow}: completing a message this feed does not hold")
        try:
            self._heard_of_lately(lease)
            await self._journal.record(flow, entries, record, dead, identities, fence=lease)
        except LeaseLostError as error:
            await self._lost(lease)
            raise LeaseLostError(
                flow, error.partition, error.claim, error.why, written=True
            ) from None
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
        held, lapsed = self._held, self._lapsed
        await self._let_go()
        if held is not None and not lapsed:  # a lapsed one may be another worker's now
            with contextlib.suppress(TransportError):  # then it comes back after ack_wait_s
                await held.retry()

    async def _let_go(self) -> None:
        self._held, self._lease = None, None
        heartbeat, self._heartbeat = self._heartbeat, None
        if heartbeat is not None:
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)

    async def _still_at_work(self, held: Received) -> None:
        ack_wait = self._transport.ack_wait_s
        while True:
            await asyncio.sleep(ack_wait / 3)
            if time.monotonic() - self._last_word > ack_wait:
                # Woken from a pause: the stream has given the message away meanwhile. A beat
                # now would not take it back, and must not make the pause look like work.
                self._lapsed = True
                return
            try:
                await held.working()
            except TransportError as error:  # NATS away a moment: the next beat may do
                log.warning("could not tell the stream a batch is still held", error=str(error))
            else:
                self._last_word = time.monotonic()
