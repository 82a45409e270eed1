"""A partition of the transport read as the journal, against the machine's NATS server: a
held batch stays this worker's however long its write takes, and goes to another at once
when this one stops."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from syncwell.engine.streamfeed import StreamFeed
from syncwell.errors import TransportError
from syncwell.store import DeliveryRecord, Store, open_store
from syncwell.transport import JetStreamSettings, JetStreamTransport
from syncwell.types import ChangeBatch

_KEYS = {"f": ("id",)}


@pytest.fixture
async def settings() -> AsyncIterator[JetStreamSettings]:
    """A stream of its own, one partition, a short ack_wait; deleted after."""
    made = JetStreamSettings(workspace=f"feed-{uuid.uuid4().hex[:10]}", partitions=1, ack_wait_s=1)
    yield made
    cleaner = await JetStreamTransport.connect(made, _KEYS)
    await cleaner.delete_stream()
    await cleaner.close()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(f"sqlite:///{tmp_path / 'state.db'}")
    yield opened
    await opened.close()


async def _worker(settings: JetStreamSettings) -> JetStreamTransport:
    return await JetStreamTransport.connect(settings, _KEYS)


def _record() -> DeliveryRecord:
    now = time.time()
    return DeliveryRecord(1, 1, 0, 1, 0, 0, now, now)


async def test_a_batch_held_past_ack_wait_stays_with_its_worker(
    settings: JetStreamSettings, store: Store
) -> None:
    """A write that takes three times ack_wait: the feed keeps telling the stream, so another
    worker is offered nothing meanwhile, and the next message only after the ack."""
    one, other = await _worker(settings), await _worker(settings)
    try:
        await one.publish("f", ChangeBatch(("id", "v"), [(1, "old")]), "c1")
        await one.publish("f", ChangeBatch(("id", "v"), [(1, "new")]), "c2")
        feed = StreamFeed(one, store.journal, 0, wait_s=1.0)
        (entry,) = await feed.pending("f", max_changes=100)
        assert list(entry.batch.rows) == [(1, "old")]
        await asyncio.sleep(3 * settings.ack_wait_s)  # the slow write
        assert await other.receive("f", 0, wait_s=0.5) is None
        await feed.complete("f", [entry], _record())
        after = await other.receive("f", 0, wait_s=2.0)
        assert after is not None and list(after.batch.rows) == [(1, "new")] and after.attempt == 1
        await after.ack()
    finally:
        await one.close()
        await other.close()


async def test_a_stopping_worker_hands_its_batch_back_at_once(
    settings: JetStreamSettings, store: Store
) -> None:
    """On a stop the held batch goes back to the stream: another worker gets it well before
    ack_wait would have passed, as a second attempt."""
    settings = JetStreamSettings(
        workspace=settings.workspace, partitions=1, ack_wait_s=30
    )  # hand back, not expiry
    one, other = await _worker(settings), await _worker(settings)
    try:
        await one.publish("f", ChangeBatch(("id", "v"), [(1, "x")]), "c1")
        feed = StreamFeed(one, store.journal, 0, wait_s=1.0)
        assert await feed.pending("f", max_changes=100)
        started = time.monotonic()
        await feed.release()
        again = await other.receive("f", 0, wait_s=5.0)
        assert again is not None and again.attempt == 2
        assert time.monotonic() - started < 5
        await again.ack()
    finally:
        await one.close()
        await other.close()


async def test_a_process_with_another_partition_count_is_refused(
    settings: JetStreamSettings,
) -> None:
    """The stream keeps its partition count: a process that would split keys otherwise is
    refused, with how to change the count safely."""
    first = await _worker(settings)
    await first.close()
    other = JetStreamSettings(workspace=settings.workspace, partitions=4)
    with pytest.raises(TransportError, match="split into 1 partitions, and this process would"):
        await JetStreamTransport.connect(other, _KEYS)


async def test_a_stop_ends_a_long_wait_at_once(settings: JetStreamSettings, store: Store) -> None:
    """An idle worker waits long for the next message (few requests); a stop ends the wait at
    once instead of after it."""
    transport, stop = await _worker(settings), asyncio.Event()
    try:
        feed = StreamFeed(transport, store.journal, 0, wait_s=25.0, stop=stop)
        waiting = asyncio.create_task(feed.pending("f", max_changes=100))
        await asyncio.sleep(0.3)
        started = time.monotonic()
        stop.set()
        assert await waiting == []
        assert time.monotonic() - started < 2
    finally:
        await transport.close()


async def test_the_feed_tells_whether_work_waited_behind(
    settings: JetStreamSettings, store: Store
) -> None:
    """Three batches queued: the first two had work behind them (their writes ran at the
    flow's capacity, which the measurements keep), the last had none."""
    transport = await _worker(settings)
    try:
        for number in range(3):
            await transport.publish("f", ChangeBatch(("id",), [(number,)]), f"c{number}")
        feed = StreamFeed(transport, store.journal, 0, wait_s=1.0)
        behind = []
        for _ in range(3):
            entries = await feed.pending("f", max_changes=100)
            behind.append(feed.more_behind())
            await feed.complete("f", entries, _record())
        assert behind == [True, True, False]
    finally:
        await transport.close()
