"""The keys a `mode: cdc` flow holds, so that a new snapshot finds the deletes it cannot see.

A stream brings every delete; a snapshot only shows the rows that are there. When a flow
takes a snapshot again over a destination that holds rows already (its slot was lost, or
`syncwell cdc reset`), rows deleted from the source in between would stay in the
destination. So a CDC flow keeps its keys in the key ledger (engine/ledger.py, decision
0009), with each journal entry: a key upserted is marked seen by the pass under way, a key
deleted is forgotten. Each snapshot read from the start begins a new pass; when the
snapshot is complete (its stream begins), the keys it did not see were gone from the source
at its starting point, and are journaled as deletes before the stream's first change (a key
inserted again since comes after its delete). The pass numbers of keys the stream upserts
matter not: the next snapshot begins a newer pass. A snapshot cut short is no complete read:
its pass goes on when the next run reads the rest of the table (the stream from the slot's
start then brings the deletes of rows read before), and nothing is taken for gone before.
"""

from __future__ import annotations

from dataclasses import dataclass

from syncwell.engine.coalesce import key_getter
from syncwell.engine.guard import key_text
from syncwell.engine.ledger import FlowLedger, PassOutcome, pack_key
from syncwell.store import Journal, KeyNote, SeenKey, SourceKeys
from syncwell.types import ChangeBatch, Checkpoint, Clock, Op
from syncwell.workspace import Flow

__all__ = ["CaptureKeys"]


def _snapshot_of(mark: Checkpoint | None) -> tuple[object, object] | None:
    """The snapshot a checkpoint is in (its slot and starting point); None when it is not
    in one."""
    if mark is None or mark.get("phase") != "snapshot":
        return None
    return mark.get("slot"), mark.get("lsn")


@dataclass(slots=True)
class CaptureKeys:
    """One CDC flow's keys during a read: `step` before each batch is journaled.

    Args:
        flow: the flow.
        keys: the store's key ledger.
        clock: when passes begin and end.
    """

    flow: Flow
    keys: SourceKeys
    clock: Clock

    _pass: int | None = None

    async def step(
        self, batch: ChangeBatch, before: Checkpoint | None, mark: Checkpoint, journal: Journal
    ) -> tuple[KeyNote | None, PassOutcome | None]:
        """What to note of `batch`'s keys in its journal entry, moving from checkpoint
        `before` to `mark`; and the outcome of the pass a complete snapshot ended (its
        deletes are journaled by then)."""
        now, was = _snapshot_of(mark), _snapshot_of(before)
        if (now is not None and now != was) or (before is None and now is None):
            # A snapshot from the start: what streaming marked before is no proof the row
            # is still there, so a new pass begins (a crash before its first page is
            # journaled begins another; keys unseen stay unseen).
            number = await self._number()
            await self.keys.finish(self.flow.name, number, held=None, at=self.clock.wall())
            self._pass = number + 1
        outcome = None
        if now is None and (before is None or was is not None):
            # The snapshot is complete and its stream begins with this mark: every key it
            # did not see was gone from the source at its starting point.
            outcome = await FlowLedger(self.flow, self.keys, self.clock).finish(journal)
            self._pass = None  # the next pass, or this one still when its deletes were held
        return await self._note(batch), outcome

    async def _number(self) -> int:
        if self._pass is None:
            self._pass = (await FlowLedger(self.flow, self.keys, self.clock).begin()).number
        return self._pass

    async def _note(self, batch: ChangeBatch) -> KeyNote | None:
        """The batch's keys: seen when their last change is an upsert, forgotten when it
        is a delete (a key deleted and inserted again in one batch is seen). An update of
        a record under its own key (`kept_keys`) is not noted again, unless the batch
        inserted or deleted that key first: its key is in the ledger since its insert or a
        snapshot, and noting every update cost a store write each (5,000 changes/s: p99
        216-248 ms against 105-162 without, bench/cdc_latency.py)."""
        if not len(batch):
            return None
        kept = batch.kept_keys
        batch = batch.decoded()
        key_of = key_getter(batch.columns, self.flow.key)
        last: dict[str, tuple[object, bool]] = {}
        for index, row in enumerate(batch.rows):
            key = key_of(row)
            text = key_text(key)
            if index in kept and text not in last:
                continue  # known since its insert or a snapshot
            last[text] = (key, batch.op(index) is Op.DELETE)
        if not last:
            return None
        seen = [SeenKey(text, pack_key(key)) for text, (key, gone) in last.items() if not gone]
        forgotten = [text for text, (_, gone) in last.items() if gone]
        return KeyNote(self.flow.name, await self._number(), seen, forgotten)
