"""The journal on SQLite: ids only grow, entries leave only with their delivery."""

from __future__ import annotations

from pathlib import Path

from syncwell.store import DeliveryRecord, open_store
from syncwell.types import ChangeBatch

RECORD = DeliveryRecord(1, 1, 0, 1, 0, 0, 0.0, 1.0)


async def test_ids_are_never_reused_after_the_newest_entry_is_delivered(tmp_path: Path) -> None:
    """Delivery reads on from the last id it took, so a new entry must never get an old id."""
    store = await open_store(f"sqlite:///{tmp_path}/state.db")
    try:
        batch = ChangeBatch(("id",), [(1,)])
        first = await store.journal.append("f", batch, None)
        await store.journal.complete("f", await store.journal.pending("f", max_changes=10), RECORD)
        second = await store.journal.append("f", batch, None)
        assert first is not None and second is not None and second > first
        assert [e.id for e in await store.journal.pending("f", after=first, max_changes=10)] == [
            second
        ]
    finally:
        await store.close()


async def test_delivery_finds_an_entry_that_appears_below_ids_it_already_took(
    tmp_path: Path,
) -> None:
    """An id committed late (a replay on a PostgreSQL store) is still delivered, not skipped."""
    import sqlite3

    from sqlalchemy import insert

    from syncwell.connectors import sqlite
    from syncwell.engine.delivery import FlowDelivery, Route
    from syncwell.engine.policies import CircuitBreaker, RateLimiter
    from syncwell.engine.progress import FlowProgress
    from syncwell.store.codec import encode_batch
    from syncwell.store.schema import journal
    from syncwell.testing import FakeClock
    from syncwell.types import StreamSpec
    from syncwell.workspace import BreakerPolicy, RetryPolicy

    with sqlite3.connect(tmp_path / "d.db") as connection:
        connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    store = await open_store(f"sqlite:///{tmp_path}/state.db")
    writer = await sqlite.open_destination(
        "d", sqlite.Settings(kind="sqlite", path=str(tmp_path / "d.db"))
    )
    clock = FakeClock()
    spec = StreamSpec("t", ("id",), ("id",))
    route = Route(
        "f",
        spec,
        spec,
        {},
        writer,
        RateLimiter(None, clock),
        CircuitBreaker(BreakerPolicy(), clock),
        RetryPolicy(),
    )
    delivery = FlowDelivery(route, store.journal, FlowProgress("f", 0.0), clock)
    try:
        for key in (10, 11, 12):
            await store.journal.append("f", ChangeBatch(("id",), [(key,)]), None)
        while await delivery.deliver_next():
            pass
        async with store.engine.begin() as connection:  # id 2: below every id already taken
            await connection.execute(
                insert(journal).values(
                    id=2,
                    flow="f",
                    changes=1,
                    observed_at=0.0,
                    created_at=0.0,
                    payload=encode_batch(ChangeBatch(("id",), [(99,)])),
                )
            )
        assert await delivery.deliver_next() == 1
    finally:
        await delivery.close()
        await writer.aclose()
        await store.close()
    with sqlite3.connect(tmp_path / "d.db") as connection:
        assert {row[0] for row in connection.execute("SELECT id FROM t")} == {10, 11, 12, 99}
