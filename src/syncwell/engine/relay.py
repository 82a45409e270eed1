"""The relay: in a distributed run, what intake journals moves on to the transport.

Intake keeps its rule (DESIGN.md, delivery semantics 1): a page and its checkpoint commit to
the store's journal together, and only then is the source acknowledged. The relay then
publishes each entry and drops it from the journal once the stream has stored it (the
transactional outbox). A crash between the two publishes the entry again at the next start,
with the same change id, and the stream drops the copy.
"""

from __future__ import annotations

import asyncio

import structlog

from syncwell.engine.waiting import wait_any
from syncwell.errors import StoreError, TransportError
from syncwell.store import Journal, JournalEntry
from syncwell.transport import JetStreamTransport

__all__ = ["change_id", "relay"]

log = structlog.get_logger("syncwell.relay")

_BATCH_CHANGES = 5000


def change_id(entry: JournalEntry) -> str:
    """The id the stream de-duplicates `entry` by: its journal id, with when its changes were
    seen, so a store made anew (ids from 1 again) is not mistaken for the old one."""
    return f"{entry.id}@{entry.batch.observed_at!r}"


async def relay(
    flow: str,
    journal: Journal,
    transport: JetStreamTransport,
    arrived: asyncio.Event,
    stop: asyncio.Event,
) -> None:
    """Publish `flow`'s journal entries, oldest first, until `stop`; woken by `arrived`."""
    while not stop.is_set():
        arrived.clear()
        try:
            moved = await relay_once(flow, journal, transport)
        except (TransportError, StoreError) as error:
            log.warning("relay deferred", flow=flow, error=str(error))
            await wait_any(stop, timeout=1.0)
            continue
        if not moved:
            await wait_any(arrived, stop, timeout=1.0)


async def relay_once(flow: str, journal: Journal, transport: JetStreamTransport) -> int:
    """Publish the oldest pending entries of `flow`, forgetting each as soon as the stream
    stored it (a stop or a crash leaves at most one to publish again); how many changes."""
    entries = await journal.pending(flow, max_changes=_BATCH_CHANGES)
    for entry in entries:
        await transport.publish(flow, entry.batch, change_id(entry))
        await journal.forget([entry.id])
    return sum(len(entry.batch) for entry in entries)
