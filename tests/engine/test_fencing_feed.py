"""Fencing a partition's writes (store/leases.py, engine/streamfeed.py), against the machine's
NATS and the state stores: a lease is taken only for a newer message, a worker that lost it
(or was silent past ack_wait_s) neither writes nor records, and a PostgreSQL destination
checks the fence inside its write's transaction."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import func, select

from syncwell.connectors import postgres
from syncwell.connectors.fencing import fenced_by
from syncwell.engine.streamfeed import StreamFeed
from syncwell.store import DeliveryRecord, Store, open_store
from syncwell.store.leases import Claim, LeaseLostError
from syncwell.store.schema import deliveries
from syncwell.transport import JetStreamSettings, JetStreamTransport
from syncwell.types import ChangeBatch, StreamSpec
from tests.conftest import PG_DSN

_KEYS = {"f": ("id",)}


@pytest.fixture
async def settings() -> AsyncIterator[JetStreamSettings]:
    """A stream of its own, one partition, a one-second ack_wait; deleted after."""
    made = JetStreamSettings(workspace=f"fence-{uuid.uuid4().hex[:10]}", partitions=1, ack_wait_s=1)
    yield made
    cleaner = await JetStreamTransport.connect(made, _KEYS)
    await cleaner.delete_stream()
    await cleaner.close()


def _record() -> DeliveryRecord:
    now = time.time()
    return DeliveryRecord(1, 1, 0, 1, 0, 0, now, now)


def _paused(seconds: float) -> None:
    """Freeze the whole process, event loop and all, as SIGSTOP or a GC pause would."""
    time.sleep(seconds)


async def _recorded(store: Store) -> int:
    async with store.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(deliveries)) or 0)


async def _fenced(store: Store) -> int:
    return sum((await store.journal.leases.fenced()).values())


async def test_a_lease_is_taken_only_for_a_newer_message(state_store: Store) -> None:
    """A redelivery or a later message takes the lease and bumps the epoch; the message it
    replaced is refused, counted, and its lease no longer checks."""
    leases = state_store.journal.leases
    first = await leases.take("S", "f", 0, Claim(1, 1, 5, 1), "a", 0.0)
    again = await leases.take("S", "f", 0, Claim(1, 1, 5, 2), "b", 1.0)  # redelivered
    assert first is not None and again is not None and again.epoch == first.epoch + 1
    assert await leases.take("S", "f", 0, Claim(1, 1, 5, 1), "a", 2.0) is None  # stale
    with pytest.raises(LeaseLostError, match="lease epoch 2, this worker's 1"):
        await leases.check(first)
    await leases.check(again)
    later_stream = await leases.take("S", "f", 0, Claim(2, 1, 1, 1), "c", 3.0)  # made anew
    assert later_stream is not None and later_stream.epoch == 3
    assert await leases.fenced() == {"f": 1}


async def test_a_take_taken_again_by_its_own_worker_is_still_its_lease(
    state_store: Store,
) -> None:
    """The store committed a take and its answer was lost: the worker asks again for the
    same message and gets its lease back, not a refusal as a stale batch (the partition
    would stall for ack_wait_s)."""
    leases = state_store.journal.leases
    first = await leases.take("S", "f", 0, Claim(1, 1, 5, 1), "a", 0.0)
    again = await leases.take("S", "f", 0, Claim(1, 1, 5, 1), "a", 0.5)
    assert first is not None and again is not None and again.epoch == first.epoch
    await leases.check(again)
    assert await leases.take("S", "f", 0, Claim(1, 1, 5, 1), "b", 1.0) is None  # another's
    assert await leases.fenced() == {"f": 1}


async def test_a_worker_whose_batch_was_taken_over_neither_writes_nor_records(
    settings: JetStreamSettings, pg_store: Store
) -> None:
    """A holds a batch and is frozen past ack_wait; B gets it again and takes the lease. A
    wakes: its check before writing refuses, its record refuses, and it acks nothing; B's
    delivery is the one recorded."""
    one = await JetStreamTransport.connect(settings, _KEYS)
    other = await JetStreamTransport.connect(settings, _KEYS)
    try:
        await one.publish("f", ChangeBatch(("id", "v"), [(1, "x")]), "c1")
        a = StreamFeed(one, pg_store.journal, 0, wait_s=1.0)
        b = StreamFeed(other, pg_store.journal, 0, wait_s=3.0)
        (held,) = await a.pending("f", max_changes=100)
        _paused(settings.ack_wait_s + 0.5)
        (taken,) = await b.pending("f", max_changes=100)
        assert taken.id == held.id
        with pytest.raises(LeaseLostError, match="refused a stale batch"):
            await a.still_held()
        with pytest.raises(Exception, match="does not hold"):
            await a.complete("f", [held], _record())
        await b.still_held()
        await b.complete("f", [taken], _record())
        assert await _recorded(pg_store) == 1
        assert await _fenced(pg_store) == 1
    finally:
        await one.close()
        await other.close()


async def test_a_delivery_is_recorded_only_under_the_lease(
    settings: JetStreamSettings, pg_store: Store
) -> None:
    """The lease passes to another holder after A's write and before A records it: the
    record's transaction refuses, nothing is recorded, and the message is not acked."""
    transport = await JetStreamTransport.connect(settings, _KEYS)
    try:
        await transport.publish("f", ChangeBatch(("id", "v"), [(1, "x")]), "c1")
        feed = StreamFeed(transport, pg_store.journal, 0, wait_s=3.0)
        (held,) = await feed.pending("f", max_changes=100)
        await feed.still_held()
        newer = Claim(2**62, 0, 0, 0)  # as if the stream were made anew meanwhile
        assert await pg_store.journal.leases.take(transport.stream, "f", 0, newer, "b", 0.0)
        with pytest.raises(LeaseLostError, match=r"over .* written before that was found"):
            await feed.complete("f", [held], _record())
        assert await _recorded(pg_store) == 0
        assert await transport.pending("f", 0) == 1  # still the stream's, unacked
    finally:
        await transport.close()


async def test_a_worker_silent_past_ack_wait_lets_its_batch_go(
    settings: JetStreamSettings, pg_store: Store
) -> None:
    """Frozen past ack_wait with no other worker about: the lease still names it, but the
    stream may have given the batch away, so it writes nothing; the batch comes back as a
    second delivery, which takes the lease."""
    transport = await JetStreamTransport.connect(settings, _KEYS)
    try:
        await transport.publish("f", ChangeBatch(("id", "v"), [(1, "x")]), "c1")
        feed = StreamFeed(transport, pg_store.journal, 0, wait_s=3.0)
        (held,) = await feed.pending("f", max_changes=100)
        _paused(settings.ack_wait_s + 0.5)
        with pytest.raises(LeaseLostError, match="silent past ack_wait_s"):
            await feed.still_held()
        (again,) = await feed.pending("f", max_changes=100)
        assert again.id == held.id
        await feed.still_held()
        await feed.complete("f", [again], _record())
        assert await _recorded(pg_store) == 1
    finally:
        await transport.close()


async def test_a_postgres_write_commits_only_while_its_fence_holds(
    pg: asyncpg.Connection, pg_schema: str
) -> None:
    """The destination runs the fence inside its transaction, after its statements: a fence
    that refuses rolls the write back, one that holds lets it commit."""
    await pg.execute(f"CREATE TABLE {pg_schema}.t (id int PRIMARY KEY, v text)")
    spec = StreamSpec("t", ("id",), ("id", "v"))
    destination = await postgres.open_destination(
        "dest", postgres.Settings(kind="postgres", dsn=PG_DSN, schema=pg_schema)
    )

    async def refuse() -> None:
        raise LeaseLostError("f", 0, Claim(1, 1, 1, 1), "a test says so")

    async def allow() -> None:
        return None

    async def rows() -> list[tuple[object, ...]]:
        return [tuple(row) for row in await pg.fetch(f"SELECT id, v FROM {pg_schema}.t")]

    try:
        with fenced_by(refuse), pytest.raises(LeaseLostError):  # a straight COPY
            await destination.write(spec, ChangeBatch(("id", "v"), [(1, "a")]))
        assert await rows() == []
        with fenced_by(allow):
            await destination.write(spec, ChangeBatch(("id", "v"), [(1, "a")]))
        with fenced_by(refuse), pytest.raises(LeaseLostError):  # the merge
            await destination.write(spec, ChangeBatch(("id", "v"), [(1, "b")]))
        assert await rows() == [(1, "a")]
    finally:
        await destination.aclose()


@pytest.fixture
async def pg_store(pg_state_url: str) -> AsyncIterator[Store]:
    """A PostgreSQL state store, as distributed runs have."""
    opened = await open_store(pg_state_url)
    yield opened
    await opened.close()
