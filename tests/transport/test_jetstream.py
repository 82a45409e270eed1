"""The JetStream transport against the machine's NATS server: partitions keep each key's
order, a second publish of a change is dropped, and a message outlives the worker that held
it."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncwell.errors import TransportError
from syncwell.transport import (
    JetStreamSettings,
    JetStreamTransport,
    Received,
    partition_of,
    split_by_partition,
)
from syncwell.types import ChangeBatch

_KEYS = {"contacts": ("email",), "with.dots and spaces": ("id",)}


def _settings(**changes: object) -> JetStreamSettings:
    values: dict[str, object] = {"workspace": f"test-{uuid.uuid4().hex[:12]}", "partitions": 4}
    return JetStreamSettings(**{**values, **changes})  # type: ignore[arg-type]


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as opened:
        yield opened


async def _transport(stack: AsyncExitStack, settings: JetStreamSettings) -> JetStreamTransport:
    """A transport on its own stream, deleted after the test."""
    transport = await JetStreamTransport.connect(settings, _KEYS)
    stack.push_async_callback(transport.close)
    stack.push_async_callback(transport.delete_stream)
    return transport


async def _drain(transport: JetStreamTransport, flow: str, partitions: int) -> list[Received]:
    """Every message of `flow`, each partition in order, acked."""
    found = []
    for partition in range(partitions):
        while (message := await transport.receive(flow, partition, wait_s=0.2)) is not None:
            found.append(message)
            await message.ack()
    return found


def _contacts(versions: list[tuple[str, int]]) -> ChangeBatch:
    return ChangeBatch(("email", "version"), [(email, v) for email, v in versions])


async def test_every_change_arrives_once_and_each_key_in_its_order(stack: AsyncExitStack) -> None:
    """Two batches where keys change twice: each change arrives once, in the partition its
    key hashes to, and each key's versions arrive in the order they were published."""
    transport = await _transport(stack, _settings())
    first = _contacts([(f"c{i}@x.io", 1) for i in range(40)])
    second = _contacts([(f"c{i}@x.io", 2) for i in range(0, 40, 3)])
    assert await transport.publish("contacts", first, "read-1") == 4
    await transport.publish("contacts", second, "read-2")
    received = await _drain(transport, "contacts", 4)
    rows = [(m.partition, row) for m in received for row in m.batch.rows]
    assert sorted(row for _, row in rows) == sorted([*first.rows, *second.rows])
    assert all(partition == partition_of(email, 4) for partition, (email, _) in rows)
    for email in {email for _, (email, _) in rows}:
        assert [v for _, (e, v) in rows if e == email] in ([1], [1, 2])
    assert {m.change_id for m in received} == {"read-1", "read-2"}


async def test_a_second_publish_of_a_change_is_dropped(stack: AsyncExitStack) -> None:
    """An intake that crashed before its checkpoint publishes the same change id again: the
    stream keeps the first and says the second was a duplicate."""
    transport = await _transport(stack, _settings())
    batch = _contacts([("a@x.io", 1), ("b@x.io", 1), ("c@x.io", 1)])
    assert await transport.publish("contacts", batch, "read-7") >= 1
    assert await transport.publish("contacts", batch, "read-7") == 0
    assert len([row for m in await _drain(transport, "contacts", 4) for row in m.batch.rows]) == 3


async def test_a_message_outlives_the_worker_that_held_it(stack: AsyncExitStack) -> None:
    """A worker takes a message and dies without acking: after ack_wait another worker gets
    it, as its second attempt; while the first holds it, the partition gives nothing else
    (one in flight keeps the order)."""
    settings = _settings(partitions=1, ack_wait_s=1.0)
    publisher = await _transport(stack, settings)
    await publisher.publish("contacts", _contacts([("a@x.io", 1)]), "r1")
    await publisher.publish("contacts", _contacts([("a@x.io", 2)]), "r2")
    doomed = await JetStreamTransport.connect(settings, _KEYS)
    taken = await doomed.receive("contacts", 0)
    assert taken is not None and taken.attempt == 1 and list(taken.batch.rows) == [("a@x.io", 1)]
    survivor = await JetStreamTransport.connect(settings, _KEYS)
    stack.push_async_callback(survivor.close)
    assert await survivor.receive("contacts", 0, wait_s=0.3) is None  # r2 waits behind r1
    await doomed.close()  # dies: r1 is never acked
    again = await survivor.receive("contacts", 0, wait_s=3.0)
    assert again is not None and list(again.batch.rows) == [("a@x.io", 1)] and again.attempt == 2
    await again.ack()
    after = await survivor.receive("contacts", 0, wait_s=1.0)
    assert after is not None and list(after.batch.rows) == [("a@x.io", 2)]
    await after.ack()


async def test_retry_offers_it_again_later_and_give_up_never(stack: AsyncExitStack) -> None:
    """`retry(delay)` brings the message back after the delay, as a new attempt; `give_up`
    drops it for good, and the partition moves on."""
    transport = await _transport(stack, _settings(partitions=1))
    await transport.publish("contacts", _contacts([("a@x.io", 1)]), "r1")
    await transport.publish("contacts", _contacts([("b@x.io", 1)]), "r2")
    first = await transport.receive("contacts", 0)
    assert first is not None
    await first.retry(0.5)
    assert await transport.receive("contacts", 0, wait_s=0.2) is None  # not yet
    again = await transport.receive("contacts", 0, wait_s=2.0)
    assert again is not None and again.attempt == 2 and again.change_id == "r1"
    await again.give_up()
    nxt = await transport.receive("contacts", 0, wait_s=2.0)
    assert nxt is not None and nxt.change_id == "r2"
    await nxt.ack()
    assert await transport.pending("contacts", 0) == 0


async def test_a_flow_name_that_is_no_subject_token_still_travels(stack: AsyncExitStack) -> None:
    """A flow named with dots and spaces gets a subject of its own (a digest of its name)."""
    transport = await _transport(stack, _settings(partitions=2))
    batch = ChangeBatch(("id", "v"), [(1, "a"), (2, "b")])
    await transport.publish("with.dots and spaces", batch, "r1")
    rows = [row for m in await _drain(transport, "with.dots and spaces", 2) for row in m.batch.rows]
    assert sorted(rows) == [(1, "a"), (2, "b")]


async def test_a_server_that_is_not_there_is_a_transport_error() -> None:
    """Connecting to a port where no NATS server listens fails with TransportError, naming it."""
    with pytest.raises(TransportError, match=r"127\.0\.0\.1:1"):
        await asyncio.wait_for(
            JetStreamTransport.connect(JetStreamSettings(url="nats://127.0.0.1:1"), _KEYS), 30
        )


@given(
    keys=st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=40),
    partitions=st.integers(1, 9),
)
@settings(max_examples=200, deadline=None)
def test_split_keeps_every_change_once_and_each_partitions_order(
    keys: list[str], partitions: int
) -> None:
    """Splitting a batch by partition loses nothing, duplicates nothing, puts each key in its
    partition, and keeps the source order within each partition."""
    batch = ChangeBatch(("k", "n"), [(key, n) for n, key in enumerate(keys)])
    parts = split_by_partition(batch, ("k",), partitions)
    assert sorted(row for part in parts.values() for row in part.rows) == sorted(batch.rows)
    for partition, part in parts.items():
        assert all(partition_of(key, partitions) == partition for key, _ in part.rows)
        assert [n for _, n in part.rows] == sorted(n for _, n in part.rows)


async def test_a_worker_with_another_ack_wait_is_refused(stack: AsyncExitStack) -> None:
    """A second process with a different `ack_wait_s` is refused with the value to set back,
    and the first one's consumers keep theirs (before, the second silently changed it for
    every worker, and it stayed after that worker stopped)."""
    settings = _settings(partitions=1, ack_wait_s=5.0)
    first = await _transport(stack, settings)
    await first.publish("contacts", _contacts([("a@x.io", 1)]), "r1")
    taken = await first.receive("contacts", 0)
    assert taken is not None
    await taken.ack()
    other = await JetStreamTransport.connect(dataclasses.replace(settings, ack_wait_s=60.0), _KEYS)
    stack.push_async_callback(other.close)
    with pytest.raises(TransportError, match=r"ack_wait_s: 5`.*set it back to 5"):
        await other.receive("contacts", 0, wait_s=0.2)
    same = await JetStreamTransport.connect(settings, _KEYS)
    stack.push_async_callback(same.close)
    assert await same.receive("contacts", 0, wait_s=0.2) is None
