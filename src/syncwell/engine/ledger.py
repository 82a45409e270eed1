"""The key ledger as intake uses it: records compared by digest, and deletes found by absence.

Three jobs, all for sources that do not say what changed:

* a flow **without a cursor** reads everything each time; a record is journaled only when its
  digest differs from the one kept for its key (new or changed);
* a record whose **cursor is NULL** (a row never edited) is taken in once, then again only
  when its digest changes, instead of on every read;
* a **pass** over the source's keys (a whole read without a cursor, or a key scan) marks the
  keys it sees; when it finishes complete, each key it did not see is journaled as a delete,
  unless so many would go that the listing looks wrong (the guard holds them back).

The digests and marks are committed with the journal entry of their page, so a crash never
leaves a record marked as seen whose change was not journaled.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import msgpack
import structlog

from syncwell.engine.coalesce import key_getter
from syncwell.engine.guard import key_text
from syncwell.store import Journal, KeyNote, KeyPass, SeenKey, SourceKeys
from syncwell.store.codec import pack_values, unpack_values
from syncwell.types import ChangeBatch, Clock, Op, Row
from syncwell.workspace import DeleteDetection, Flow

__all__ = ["FlowLedger", "PassOutcome", "pack_key", "record_digest"]

log = structlog.get_logger("syncwell.ledger")

_DELETES_PER_ENTRY = 1000
_DEFAULT_GUARD = DeleteDetection()


def record_digest(columns: Sequence[str], row: Row) -> bytes:
    """A digest of a record's values by column name, blind to column order and to columns
    that are absent or null (an API that leaves out empty fields on some pages)."""
    values = sorted((c, v) for c, v in zip(columns, row, strict=True) if v is not None)
    packed: bytes = msgpack.packb(values, default=str)
    return hashlib.blake2b(packed, digest_size=16).digest()


def pack_key(key: object) -> bytes:
    """A key's values, kept (typed) to build a delete for it later."""
    return pack_values(key if isinstance(key, tuple) else (key,))


@dataclass(frozen=True, slots=True)
class PassOutcome:
    """What the end of a pass found: keys gone, how many were journaled as deletes, or why
    they were held back."""

    known: int
    gone: int
    deleted: int
    held: str | None = None


class FlowLedger:
    """One flow's ledger during a read: `screen` each page, then `finish` a complete pass.

    Args:
        flow: the flow (its key, cursor and `deletes:`).
        keys: the store's key ledger.
        clock: when passes begin and end (a key scan is due `every` after the last).
    """

    def __init__(self, flow: Flow, keys: SourceKeys, clock: Clock) -> None:
        self.flow = flow
        self._keys = keys
        self._clock = clock
        self._guard = flow.deletes or _DEFAULT_GUARD
        self._tracks_all = flow.scans_keys or flow.passes_by_read
        self._pass: KeyPass | None = None
        self.compared = 0
        """Records compared by digest in this read."""
        self.unchanged = 0
        """Of those, records dropped because their digest had not changed."""

    async def begin(self) -> KeyPass:
        """The pass under way (the first begins now); call before a read or a scan."""
        flow = self.flow
        shape = f"{flow.source}:{flow.stream}:{','.join(flow.key)}"
        self._pass = await self._keys.current(flow.name, at=self._clock.wall(), shape=shape)
        return self._pass

    async def screen(self, batch: ChangeBatch) -> tuple[ChangeBatch, KeyNote | None]:
        """The changes of `batch` worth journaling, and what to note of its keys with them."""
        if batch.page_unchanged and batch.page is not None:
            await self._keys.mark_page(self.flow.name, await self._number(), batch.page)
            return batch, None
        if not len(batch) or (batch.copy_text is not None and not self._tracks_all):
            # A database read by cursor never returns a NULL cursor incrementally: nothing
            # to compare, and COPY pages stay undecoded on the fast path.
            return batch, None
        batch = batch.decoded()
        columns, rows = batch.columns, batch.rows
        compared = self._compared(batch)
        if not compared and not self._tracks_all:
            return batch, None
        key_of = key_getter(columns, self.flow.key)
        listed = range(len(rows)) if self._tracks_all else compared
        keys = {index: key_of(rows[index]) for index in listed}
        texts = {index: key_text(key) for index, key in keys.items()}
        digests = {index: record_digest(columns, rows[index]) for index in compared}
        stored = await self._keys.digests(self.flow.name, [texts[i] for i in compared])
        # Keys new to the ledger: known for those compared, at most all the others.
        await self._keys.grew(len(listed) - len(stored))
        unchanged = {i for i in compared if stored.get(texts[i]) == digests[i]}
        self.compared += len(compared)
        self.unchanged += len(unchanged)
        if not self._tracks_all:  # only what changed needs noting: an idle read writes nothing
            listed = [i for i in compared if i not in unchanged]
        # One note per key (the last of the page): an upsert may not touch a row twice.
        seen = {
            texts[i]: SeenKey(texts[i], pack_key(keys[i]), digests.get(i), batch.page)
            for i in listed
        }
        note = KeyNote(self.flow.name, await self._number(), list(seen.values())) if seen else None
        if unchanged:
            batch = batch.select([i for i in range(len(rows)) if i not in unchanged])
        return batch, note

    async def mark(self, page: Sequence[Row]) -> None:
        """Note the keys of one page of a key scan as seen by the pass under way."""
        single = len(self.flow.key) == 1
        if single:
            keys = {key_text(values[0]): values[0] for values in page}
        else:
            keys = {key_text(tuple(values)): tuple(values) for values in page}
        await self._keys.mark(self.flow.name, await self._number(), keys, pack_key)

    async def finish(self, journal: Journal) -> PassOutcome:
        """End a complete pass: journal a delete for each key it did not see, or hold them
        all back when so many would go that the listing, not the source, looks wrong."""
        number, name = await self._number(), self.flow.name
        gone = await self._keys.count(name, before_pass=number)
        known = await self._keys.count(name)
        held = self._held(gone, known)
        if held is not None:
            log.error("deletes held back", flow=name, gone=gone, known=known, reason=held)
            await self._keys.finish(name, number, held=held, at=self._clock.wall())
            return PassOutcome(known, gone, 0, held)
        deleted = 0
        while chunk := await self._keys.unseen(name, number, _DELETES_PER_ENTRY):
            deletes = self._deletes([values for _, values in chunk])
            forgotten = [key for key, _ in chunk]
            await journal.append(name, deletes, None, keys=KeyNote(name, number, (), forgotten))
            deleted += len(deletes)
        await self._keys.finish(name, number, held=None, at=self._clock.wall())
        if deleted:
            log.info("deletes found", flow=name, deleted=deleted, known=known)
        return PassOutcome(known, gone, deleted)

    def _deletes(self, packed_keys: Sequence[bytes]) -> ChangeBatch:
        """Deletes of these keys. They carry the version column, empty: a destination that
        guards versions applies a delete without one as it comes (nothing newer is known)."""
        flow = self.flow
        version = () if flow.version is None or flow.version in flow.key else (flow.version,)
        padding = (None,) * len(version)
        rows = [(*unpack_values(values), *padding) for values in packed_keys]
        columns = (*flow.key, *version)
        return ChangeBatch(columns, rows, [Op.DELETE] * len(rows), self._clock.wall())

    async def hold(self, reason: str) -> None:
        """Record that the pass under way could not finish (its listing failed): no key is
        taken for gone, and the reason stands until a pass finishes."""
        await self._keys.finish(
            self.flow.name, await self._number(), held=reason, at=self._clock.wall()
        )

    def _compared(self, batch: ChangeBatch) -> list[int]:
        """The rows compared by digest: all without a cursor, else those whose cursor is
        NULL (a cursor tells nothing there)."""
        cursor = self.flow.cursor
        if cursor is None or cursor not in batch.columns:
            return list(range(len(batch.rows)))
        at = batch.columns.index(cursor)
        return [index for index, row in enumerate(batch.rows) if row[at] is None]

    def _held(self, gone: int, known: int) -> str | None:
        guard = self._guard
        if gone <= guard.guard_above or gone <= guard.max_share * known:
            return None
        return (
            f"a complete pass over '{self.flow.source}' no longer saw {gone:,} of the "
            f"{known:,} keys syncwell knew ({gone / known:.0%}, over deletes.max_share "
            f"{guard.max_share:.0%}); nothing was deleted. If the source really lost them, "
            "raise `deletes.max_share` for one pass; if not, check its listing (filters, "
            "permissions, a page cap)"
        )

    async def _number(self) -> int:
        """The pass under way, found when first needed: a read that notes no key (most
        reads by cursor) costs the store nothing."""
        if self._pass is None:
            self._pass = await self.begin()
        return self._pass.number
