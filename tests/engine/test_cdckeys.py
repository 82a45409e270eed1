"""A CDC flow's keys (engine/cdckeys.py) against a real SQLite state store, the capture's
checkpoints written by hand: a new snapshot deletes the keys it did not see only once it is
complete, never after a snapshot cut short, and a key the stream deleted is not deleted twice."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from syncwell.engine.cdckeys import CaptureKeys
from syncwell.store import Store, open_store
from syncwell.testing import FakeClock
from syncwell.types import ChangeBatch, Checkpoint, JSONValue, Op
from syncwell.workspace import load_workspace
from tests.cdc.cdckit import write_workspace

COLUMNS = ("id", "name", "amount", "v", "updated_at")


def _snapshot(lsn: str, after: int) -> Checkpoint:
    last: list[JSONValue] = [str(after)]
    return {"phase": "snapshot", "slot": "s", "lsn": lsn, "after": last}


def _streaming(lsn: str) -> Checkpoint:
    return {"phase": "incremental", "slot": "s", "lsn": lsn}


def _rows(*keys: int, ops: list[Op] | None = None) -> ChangeBatch:
    return ChangeBatch(COLUMNS, [(k, "n", 1, 1, None) for k in keys], ops)


class _Flow:
    """Takes each batch in as intake does: its keys noted with it, in one journal entry."""

    def __init__(self, store: Store, keys: CaptureKeys) -> None:
        self.store, self.keys = store, keys
        self.checkpoint: Checkpoint | None = None
        self.deleted: list[int] = []
        self.seen = 0

    async def take(self, batch: ChangeBatch, mark: Checkpoint) -> None:
        note, outcome = await self.keys.step(batch, self.checkpoint, mark, self.store.journal)
        await self.store.journal.append("rows", batch, mark, keys=note)
        self.checkpoint = mark
        if outcome is not None:
            self.deleted.extend(await self.deletes())

    async def deletes(self) -> list[int]:
        """The keys of the deletes journaled since the last look."""
        found = []
        for entry in await self.store.journal.pending("rows", after=self.seen, max_changes=10**6):
            batch, self.seen = entry.batch, entry.id
            found += [batch.rows[i][0] for i in range(len(batch)) if batch.op(i) is Op.DELETE]
        return [int(key) for key in found]  # type: ignore[call-overload]


async def test_a_new_snapshot_deletes_only_once_complete(tmp_path: Path) -> None:
    """First snapshot 1..10; the stream deletes 3, inserts 11 and updates 4; the slot is
    lost; a new snapshot's first page (1, 2, 5) is cut: nothing is deleted; the rest (6, 7, 9,
    10, 11) then ends it, and only 4 and 8 are deleted (3 was already; 4's update before the
    loss is no proof it is still there)."""
    flow = load_workspace(write_workspace(tmp_path, "postgresql://x@127.0.0.1/x", "s")).flows[
        "rows"
    ]
    store = await open_store(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        taking = _Flow(store, CaptureKeys(flow, store.source_keys, FakeClock()))
        await taking.take(_rows(*range(1, 11)), _snapshot("0/10", 10))
        await taking.take(_rows(), _streaming("0/10"))
        assert taking.deleted == []  # the first snapshot knew no keys before
        await taking.take(
            _rows(3, 11, 4, ops=[Op.DELETE, Op.UPSERT, Op.UPSERT]), _streaming("0/20")
        )
        taking.checkpoint = None  # `syncwell cdc reset`
        await taking.take(_rows(1, 2, 5), _snapshot("0/90", 5))
        assert taking.deleted == []
        restarted = _Flow(store, CaptureKeys(flow, store.source_keys, FakeClock()))
        restarted.checkpoint = taking.checkpoint  # a crash: the next run reads on
        assert await taking.deletes() == [3]  # the stream's own, journaled as it came
        restarted.seen = taking.seen
        await restarted.take(_rows(6, 7, 9, 10, 11), _snapshot("0/90", 11))
        assert restarted.deleted == []
        await restarted.take(_rows(), _streaming("0/90"))
        assert sorted(restarted.deleted) == [4, 8]
    finally:
        await store.close()


async def test_updates_under_their_own_key_are_not_noted_again(tmp_path: Path) -> None:
    """A streamed update of a record under its own key (`kept_keys`) writes no key note, so a
    stream of updates costs the ledger nothing; a key inserted then updated in one batch is
    noted, a key change's new key too, and the next snapshot still deletes only the unseen."""
    flow = load_workspace(write_workspace(tmp_path, "postgresql://x@127.0.0.1/x", "s")).flows[
        "rows"
    ]
    store = await open_store(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        keys = CaptureKeys(flow, store.source_keys, FakeClock())
        taking = _Flow(store, keys)
        await taking.take(_rows(1, 2, 3), _snapshot("0/10", 3))
        await taking.take(_rows(), _streaming("0/10"))
        updates = dataclasses.replace(_rows(1, 2, 3), kept_keys=frozenset({0, 1, 2}))
        note, _ = await keys.step(updates, taking.checkpoint, _streaming("0/20"), store.journal)
        assert note is None  # nothing to write: every key is in the ledger already
        # 4 inserted then updated; 2 moved to key 5 (its delete, then an upsert not kept)
        mixed = dataclasses.replace(
            _rows(4, 4, 2, 5, ops=[Op.UPSERT, Op.UPSERT, Op.DELETE, Op.UPSERT]),
            kept_keys=frozenset({1}),
        )
        await taking.take(mixed, _streaming("0/30"))
        assert await store.source_keys.count("rows") == 4  # 1, 3, 4, 5
        taking.checkpoint = None  # `syncwell cdc reset`: a new snapshot sees 1 and 5
        await taking.take(_rows(1, 5), _snapshot("0/90", 5))
        await taking.take(_rows(), _streaming("0/90"))
        assert sorted(taking.deleted) == [2, 3, 4]  # 2 by the stream; 3 and 4 unseen
    finally:
        await store.close()
