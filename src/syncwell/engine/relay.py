"""The relay: in a distributed run, what intake journals moves on to the transport.

Intake keeps its rule (DESIGN.md, delivery semantics 1): a page and its checkpoint commit to
the store's journal together, and only then is the source acknowledged. The relay then
publishes each entry and drops it from the journal once the stream has stored it (the
transactional outbox). A crash between the two publishes the entry again at the next start,
with the same change id, and the stream drops the copy.

Entries that wait together travel together. A flow's page is split into `partitions`
messages, so a page of 200 changes made 8 messages of 25, and a worker writes one message per
request: against a destination whose rate limit counts requests, a distributed flow moved 8 times
fewer rows than one process (issue 14). So the relay joins the consecutive entries that wait
(up to 5,000 changes), keeps the newest change per key, and splits them into messages of up
to the flow's `batch_size` changes per partition. When changes come one page at a time
nothing waits to be joined; so where the destination counts requests, the relay lingers
for one request's turn after a small publish (`linger_for`), as a Kafka producer's
`linger.ms` does, and the next publish carries what came meanwhile.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence

import structlog

from syncwell.engine.coalesce import coalesce
from syncwell.engine.waiting import wait_any
from syncwell.errors import StoreError, TransportError
from syncwell.store import Journal, JournalEntry
from syncwell.transport import JetStreamTransport
from syncwell.workspace import Flow, Workspace

__all__ = ["change_id", "linger_for", "relay", "relay_once"]

log = structlog.get_logger("syncwell.relay")

_BATCH_CHANGES = 5000


def change_id(run: Sequence[JournalEntry], *, most: int | None = None) -> str:
    """The id the stream de-duplicates a run of entries by: its journal ids, with when the
    first one's changes were seen, so a store made anew (ids from 1 again) is not mistaken for
    the old one. A run of several names every id it holds and the size it was cut into pieces
    by (a digest of them), so a run regrouped after a failed publish (an entry that committed
    late, or another `batch_size`) never takes the id of one the stream already holds: the
    stream would drop it as a duplicate, and with it the changes it adds."""
    first, last = run[0], run[-1]
    observed = f"@{first.batch.observed_at!r}"
    if len(run) == 1:
        return f"{first.id}{observed}" if most is None else f"{first.id}/{most}{observed}"
    members = ",".join(str(entry.id) for entry in run) + f"/{most}"
    digest = hashlib.blake2b(members.encode(), digest_size=8).hexdigest()
    return f"{first.id}-{last.id}.{digest}{observed}"


def linger_for(workspace: Workspace, flow: Flow) -> float:
    """How long the relay lets a flow's entries gather before it publishes what it has: one
    request's turn (at most a second) where the destination's rate limit counts requests, so
    each request carries what came meanwhile; none elsewhere, so nothing waits for nothing."""
    limit = workspace.systems[flow.destination].rate_limit
    return 0.0 if limit is None else min(1.0, 1.0 / limit.per_second)


async def relay(
    flow: Flow,
    journal: Journal,
    transport: JetStreamTransport,
    arrived: asyncio.Event,
    stop: asyncio.Event,
    *,
    linger_s: float = 0.0,
) -> None:
    """Publish `flow`'s journal entries, oldest first, until `stop`; woken by `arrived`.
    After publishing less than a full message per partition, wait `linger_s` for more."""
    full = transport.partitions * flow.batch_size
    while not stop.is_set():
        arrived.clear()
        try:
            moved = await relay_once(flow, journal, transport)
        except (TransportError, StoreError) as error:
            log.warning("relay deferred", flow=flow.name, error=str(error))
            await wait_any(stop, timeout=1.0)
            continue
        if not moved:
            await wait_any(arrived, stop, timeout=1.0)
        elif linger_s and moved < full:
            await wait_any(stop, timeout=linger_s)


async def relay_once(flow: Flow, journal: Journal, transport: JetStreamTransport) -> int:
    """Publish the oldest pending entries of `flow`, a run of entries that travel together at
    a time, forgetting each run as soon as the stream stored it (a stop or a crash leaves at
    most one run to publish again); how many changes."""
    entries = await journal.pending(flow.name, max_changes=_BATCH_CHANGES)
    for run in _runs(entries):
        joined = coalesce([entry.batch for entry in run], flow.key, flow.version)
        ids = change_id(run, most=flow.batch_size)
        await transport.publish(flow.name, joined, ids, most=flow.batch_size)
        await journal.forget([entry.id for entry in run])
    return sum(len(entry.batch) for entry in entries)


def _runs(entries: Sequence[JournalEntry]) -> list[list[JournalEntry]]:
    """Consecutive entries that can be joined into one batch: the same columns, and all COPY
    text or all rows. After a crash the run may be longer than the one published before it;
    the stream then keeps both, and the newest change per key still comes last."""
    runs: list[list[JournalEntry]] = []
    for entry in entries:
        batch = entry.batch
        if runs:
            previous = runs[-1][-1].batch
            if previous.columns == batch.columns and (previous.copy_text is None) == (
                batch.copy_text is None
            ):
                runs[-1].append(entry)
                continue
        runs.append([entry])
    return runs
