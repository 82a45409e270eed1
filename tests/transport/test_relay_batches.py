"""Entries that wait together travel together: the relay joins them, keeps the newest change
per key, and cuts each partition's changes into messages of up to the flow's `batch_size`
(engine/relay.py; issue 14, point 14). Against the machine's NATS and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

from syncwell import copytext
from syncwell.engine.coalesce import coalesce
from syncwell.engine.relay import change_id, relay, relay_once
from syncwell.store import open_store
from syncwell.transport import JetStreamSettings, JetStreamTransport, Received
from syncwell.types import ChangeBatch
from syncwell.workspace import Flow, load_workspace

PARTITIONS = 8
BATCH = 200


def _flow(root: Path, state: str) -> Flow:
    (root / "syncwell.yaml").write_text(
        f"name: relay-{uuid.uuid4().hex[:10]}\nstate: {state}\n"
        f"transport: {{partitions: {PARTITIONS}}}\n"
        "systems:\n  a: {kind: sqlite, path: a.db}\n  b: {kind: sqlite, path: b.db}\n"
        "flows:\n  rows: {source: a, destination: b, stream: t, key: id, cursor: at,"
        f" version: at, batch_size: {BATCH}}}\n"
    )
    return load_workspace(root / "syncwell.yaml").flows["rows"]


async def _drain(transport: JetStreamTransport) -> list[Received]:
    found = []
    for partition in range(PARTITIONS):
        while (message := await transport.receive("rows", partition, wait_s=0.2)) is not None:
            found.append(message)
            await message.ack()
    return found


async def _relayed(tmp_path: Path, state: str, pages: list[ChangeBatch]) -> list[Received]:
    flow = _flow(tmp_path, state)
    settings = JetStreamSettings(workspace=f"relay-{uuid.uuid4().hex[:10]}", partitions=PARTITIONS)
    store = await open_store(state)
    transport = await JetStreamTransport.connect(settings, {"rows": ("id",)})
    try:
        for page in pages:
            await store.journal.append("rows", page, None)
        relayed = await relay_once(flow, store.journal, transport)
        assert relayed == sum(len(page) for page in pages)
        assert await store.journal.pending("rows", max_changes=10_000) == []
        return await _drain(transport)
    finally:
        await transport.delete_stream()
        await transport.close()
        await store.close()


async def test_pages_that_wait_together_fill_messages_up_to_the_batch_size(
    tmp_path: Path, pg_state_url: str
) -> None:
    """Ten pages of 200 rows over 8 partitions made 80 messages of about 25 changes (a write
    each, against a destination that counts requests); now 16 of at most 200."""
    pages = [
        ChangeBatch(("id", "at"), [(i, f"t{i:05d}") for i in range(p * BATCH, (p + 1) * BATCH)])
        for p in range(10)
    ]
    messages = await _relayed(tmp_path, pg_state_url, pages)
    sizes = [len(message.batch) for message in messages]
    assert sum(sizes) == 10 * BATCH
    assert max(sizes) <= BATCH
    assert len(messages) <= 2 * PARTITIONS, sizes
    keys = [row[0] for message in messages for row in message.batch.rows]
    assert sorted(keys) == list(range(10 * BATCH))


async def test_a_key_changed_in_several_waiting_pages_travels_once_at_its_newest(
    tmp_path: Path, pg_state_url: str
) -> None:
    pages = [
        ChangeBatch(("id", "at"), [(1, "t2"), (2, "t1")]),
        ChangeBatch(("id", "at"), [(1, "t3")]),
        ChangeBatch(("id", "at"), [(1, "t1")]),  # an older version read late: not the newest
    ]
    messages = await _relayed(tmp_path, pg_state_url, pages)
    assert sorted(row for m in messages for row in m.batch.rows) == [(1, "t3"), (2, "t1")]


async def test_copy_text_pages_travel_joined_and_say_their_keys_repeat(
    tmp_path: Path, pg_state_url: str
) -> None:
    """COPY text is joined as it is; the message says a key may repeat, so the destination
    keeps the newest of each (in SQL), as it does for journal entries joined in one process."""
    first = copytext.join_lines([b"1\tt1", b"2\tt1"])
    pages = [ChangeBatch(("id", "at"), (), copy_text=first)]
    pages.append(ChangeBatch(("id", "at"), (), copy_text=copytext.join_lines([b"1\tt2"])))
    messages = await _relayed(tmp_path, pg_state_url, pages)
    lines = sorted(
        line for m in messages for line in copytext.split_lines(m.batch.copy_text or b"")
    )
    assert lines == [b"1\tt1", b"1\tt2", b"2\tt1"]
    assert any(m.batch.keys_repeat for m in messages)


async def test_where_requests_are_counted_the_relay_lingers_so_pages_coming_apart_travel_together(
    tmp_path: Path, pg_state_url: str
) -> None:
    """Ten pages journaled 40 ms apart: without lingering each is relayed alone, 8 messages of
    about 25; lingering one request's turn (0.5 s at 2 writes/s) joins those that follow."""
    flow = _flow(tmp_path, pg_state_url)
    settings = JetStreamSettings(workspace=f"relay-{uuid.uuid4().hex[:10]}", partitions=PARTITIONS)
    store = await open_store(pg_state_url)
    transport = await JetStreamTransport.connect(settings, {"rows": ("id",)})
    arrived, stop = asyncio.Event(), asyncio.Event()
    relaying = asyncio.create_task(
        relay(flow, store.journal, transport, arrived, stop, linger_s=0.5)
    )
    try:
        for p in range(10):
            rows = [(i, f"t{i:05d}") for i in range(p * BATCH, (p + 1) * BATCH)]
            await store.journal.append("rows", ChangeBatch(("id", "at"), rows), None)
            arrived.set()
            await asyncio.sleep(0.04)
        for _ in range(100):  # until the journal is empty
            if not await store.journal.pending("rows", max_changes=1):
                break
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await relaying
    try:
        messages = await _drain(transport)
    finally:
        await transport.delete_stream()
        await transport.close()
        await store.close()
    assert sum(len(m.batch) for m in messages) == 10 * BATCH
    assert len(messages) <= 3 * PARTITIONS, [len(m.batch) for m in messages]


async def test_a_run_regrouped_after_a_failed_publish_is_not_taken_for_the_one_before(
    tmp_path: Path, pg_state_url: str
) -> None:
    """The relay published entries 1 and 3 (2 committed late, unseen) and failed before
    forgetting them; the next run holds 1, 2 and 3 under the same first and last ids. The
    stream must not drop it as a duplicate: entry 2's changes would be lost."""
    flow = _flow(tmp_path, pg_state_url)
    settings = JetStreamSettings(workspace=f"relay-{uuid.uuid4().hex[:10]}", partitions=1)
    store = await open_store(pg_state_url)
    transport = await JetStreamTransport.connect(settings, {"rows": ("id",)})
    try:
        for key in (1, 2, 3):
            await store.journal.append("rows", ChangeBatch(("id", "at"), [(key, "t1")]), None)
        first, _late, last = await store.journal.pending("rows", max_changes=100)
        seen = [first, last]
        joined = coalesce([entry.batch for entry in seen], flow.key, flow.version)
        ids = change_id(seen, most=flow.batch_size)
        await transport.publish("rows", joined, ids, most=flow.batch_size)  # then a failure
        await relay_once(flow, store.journal, transport)
        messages = await _drain(transport)
    finally:
        await transport.delete_stream()
        await transport.close()
        await store.close()
    assert {row[0] for m in messages for row in m.batch.rows} == {1, 2, 3}


async def test_a_piece_larger_than_the_servers_max_payload_travels_in_halves(
    tmp_path: Path, pg_state_url: str
) -> None:
    """200 rows of 64 KB that do not compress: about 1.6 MB for each of the 8 partitions,
    over the server's 1 MB max_payload, which refuses it (the relay would try forever)."""
    rows = [(i, os.urandom(32 * 1024).hex()) for i in range(BATCH)]
    messages = await _relayed(tmp_path, pg_state_url, [ChangeBatch(("id", "at"), rows)])
    assert sorted(row[0] for m in messages for row in m.batch.rows) == list(range(BATCH))
