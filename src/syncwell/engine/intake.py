"""Intake: read a flow's source and append each batch with its checkpoint to the journal.

The checkpoint is committed in the same transaction as the changes it covers, and only after
that commit does the source move on (DESIGN.md, semantics 1): a crash at any moment re-reads
at most one page, which the destination's version guard then ignores.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable

import structlog

from syncwell.connectors import Source
from syncwell.engine.cdckeys import CaptureKeys
from syncwell.engine.changetimes import ChangeTimes
from syncwell.engine.firstsync import FirstSync
from syncwell.engine.ledger import FlowLedger, PassOutcome
from syncwell.engine.progress import FlowProgress
from syncwell.engine.readmemory import ReadMemory
from syncwell.engine.reconcile import Reconciler
from syncwell.measure.tracing import tracer
from syncwell.store import Journal
from syncwell.types import ChangeBatch, StreamSpec

__all__ = ["count_pass", "take_in"]

log = structlog.get_logger("syncwell.intake")


async def take_in(
    flow: str,
    stream: StreamSpec,
    source: Source,
    journal: Journal,
    progress: FlowProgress,
    *,
    stop: asyncio.Event,
    arrived: asyncio.Event,
    reconciler: Reconciler | None = None,
    ledger: FlowLedger | None = None,
    on_page: Callable[[ChangeBatch], None] | None = None,
    first_sync: FirstSync | None = None,
    times: ChangeTimes | None = None,
    memory: ReadMemory | None = None,
    captured_keys: CaptureKeys | None = None,
) -> bool:
    """Read from the last checkpoint until the source has nothing newer (or `stop` is set).

    Returns whether the read was incremental: a first full read is followed at once by an
    incremental one when the caller wants to be caught up (`syncwell run --once`). With a
    `reconciler` (a realtime flow), an incremental read journals only what webhooks missed.
    With a `ledger`, records without a cursor are compared by digest, the keys read are noted,
    and a whole read of a flow without a cursor ends with the deletes it found. With a
    `first_sync`, the flow's first read journals only what its destination does not already
    hold as it is (engine/firstsync.py). With `times`, each page journaled carries the time
    of its oldest change (engine/changetimes.py), which its freshness lag is measured from.
    With a `memory`, an incremental read journals only rows not journaled before exactly as
    they are (engine/readmemory.py): a look-back re-read is not a change. With
    `captured_keys` (a `mode: cdc` flow), the keys it holds are noted, and a snapshot ends
    with the deletes it found (engine/cdckeys.py).
    """
    with tracer().start_as_current_span(
        "syncwell.intake", attributes={"syncwell.flow": flow}
    ) as span:
        read_before = progress.read
        try:
            return await _take_in(
                flow, stream, source, journal, progress, stop=stop, arrived=arrived,
                reconciler=reconciler, ledger=ledger, on_page=on_page, first_sync=first_sync,
                times=times, memory=memory, captured_keys=captured_keys,
            )  # fmt: skip
        finally:
            span.set_attribute("syncwell.changes", progress.read - read_before)


async def _take_in(
    flow: str,
    stream: StreamSpec,
    source: Source,
    journal: Journal,
    progress: FlowProgress,
    *,
    stop: asyncio.Event,
    arrived: asyncio.Event,
    reconciler: Reconciler | None,
    ledger: FlowLedger | None,
    on_page: Callable[[ChangeBatch], None] | None,
    first_sync: FirstSync | None,
    times: ChangeTimes | None,
    memory: ReadMemory | None,
    captured_keys: CaptureKeys | None,
) -> bool:
    checkpoint = await journal.checkpoint(flow)
    incremental = checkpoint is not None and checkpoint.get("phase") == "incremental"
    comparing = None if first_sync is None else await first_sync.begin(checkpoint)
    if comparing is not None:  # values compare as values: no COPY text on a first sync
        stream = dataclasses.replace(stream, copy_text=False)
    if checkpoint is None and progress.estimate is None:
        progress.estimate = await source.estimate(stream)
    reader = source.read(stream, checkpoint)
    whole = True
    try:
        async for batch, mark in reader:
            if on_page is not None:
                on_page(batch)
            keys = None
            if ledger is not None:
                batch, keys = await ledger.screen(batch)
            if captured_keys is not None:
                keys, outcome = await captured_keys.step(batch, checkpoint, mark, journal)
                if outcome is not None:
                    count_pass(progress, arrived, outcome)
            if len(batch) == 0 and mark == checkpoint and keys is None:
                continue  # an idle poll: nothing to commit, so no write to the store
            as_read, seen = batch, None
            if reconciler is not None:
                batch, seen = await reconciler.screen(batch, counting=incremental)
            if comparing is not None:
                matched = comparing.matched
                batch = await comparing.screen(batch)
                progress.matched += comparing.matched - matched
            unremembered = None
            if memory is not None and incremental:
                batch, unremembered = memory.screen(batch)
            if times is not None:  # what is left to journal: the changes found by this read
                batch = times.page(flow, batch, incremental=incremental)
            await journal.append(flow, batch, mark, seen=seen, keys=keys)
            if memory is not None and unremembered is not None:
                memory.remember(unremembered)
            elif memory is not None and not incremental:
                memory.remember_whole(as_read)
            checkpoint = mark
            if len(batch):
                progress.read += len(batch)
                arrived.set()
            if stop.is_set():
                log.info("intake stopped", flow=flow)
                whole = False
                break
    finally:
        await reader.aclose()  # type: ignore[attr-defined]
    if whole and ledger is not None and ledger.flow.passes_by_read:
        count_pass(progress, arrived, await ledger.finish(journal))
    if whole and comparing is not None and comparing.ends:
        await comparing.finish()
    return incremental


def count_pass(progress: FlowProgress, arrived: asyncio.Event, outcome: PassOutcome) -> None:
    """Count what a finished pass found."""
    progress.deletes_held = outcome.held
    if outcome.deleted:
        progress.read += outcome.deleted
        progress.deletes_found += outcome.deleted
        arrived.set()
