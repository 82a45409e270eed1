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
