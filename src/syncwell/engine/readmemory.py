"""What a flow's recent incremental reads journaled, so a re-read journals only what changed.

An incremental read starts again `lookback` behind its position whenever the look-back window
changed since the last read (connectors/postgres/source.py). A row that left the window
because it was edited changes it too, so under steady edits nearly every poll re-reads the
whole window; and a cursor compared with `>=` re-reads the newest rows on every poll. Each
re-read row used to be journaled again: a journal write, a message to the stream in a
distributed run (about 10 KB per changed 456-byte row, issue 14), a destination write that
changes nothing, and a `written` count of rows sent rather than rows changed.

The memory keeps, per key, a digest of the row as it was last journaled. A row read again
exactly as it was is dropped before the journal; any difference (a value, the cursor, a
delete) passes. A row is remembered only once its page is committed (`remember`), so a page
whose journal write failed is read and journaled again. The memory lives in the process: after
a restart, the first re-read of the window journals it once more, and the destination's
version guard makes those writes no-ops, as it always did.

Written here rather than taken from a cache library: the entries must age by the injected
clock, refresh when their row is read again, and be offered for commit separately from the
lookup, which no cache API offers together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import repeat

from syncwell import copytext
from syncwell.engine.coalesce import key_getter
from syncwell.types import ChangeBatch, Clock, Op

__all__ = ["ReadMemory", "Unremembered", "keep_for"]

_MOST = 1_000_000
"""Rows remembered per flow at most (about 150 MB at worst); past it the oldest go first, and
a row forgotten that way is journaled once more if it is read again."""


_WHOLE_MOST = 200_000
"""Rows of a full read remembered at most: hashing them costs about 0.7 µs a COPY line and
2-3 µs a row of values, under 0.6 s for these (a look-back read after a larger full read
journals the rest of its window again)."""


def _digest(op: object, row: object) -> int:
    """A digest of a change: the hash of its repr (SipHash of the text, fixed within a
    process). Not the hash of the values themselves: Python hashes -1 and -2 alike, and n and
    n + 2**61 - 1, so a status moving from -1 to -2 under the same cursor would look unchanged.
    """
    return hash(repr((op, row)))


@dataclass(slots=True)
class Unremembered:
    """The changes of a page that passed the memory: to `remember` once they are journaled."""

    entries: list[tuple[object, int]] = field(default_factory=list)


@dataclass(slots=True)
class ReadMemory:
    """Per key, the digest of the row a flow last journaled from an incremental read.

    Attributes:
        key: the flow's key columns.
        clock: where time comes from (entries age on it).
        keep_s: how long an entry lasts without its row being read again.
        most: entries kept at most.
    """

    key: tuple[str, ...]
    clock: Clock
    keep_s: float
    most: int = _MOST
    _seen: dict[object, tuple[int, float]] = field(default_factory=dict)
    _whole: set[int] = field(default_factory=set)
    """Digests of what the flow's full read journaled, until the incremental read after it
    has re-read the look-back window (hashed in C, a tenth of a microsecond a row, so the
    full read stays fast; keyless, so only for keys the incremental reads have not seen)."""
    dropped: int = 0

    def screen(self, batch: ChangeBatch) -> tuple[ChangeBatch, Unremembered]:
        """`batch` without the rows journaled before exactly as they are now."""
        if not len(batch) or not all(column in batch.columns for column in self.key):
            return batch, Unremembered()
        now = self.clock.now()
        self._forget_old(now)
        key_of = key_getter(batch.columns, self.key)
        changes: list[tuple[object, int]]
        if batch.copy_text is not None:  # a line's fields split at tabs, escapes left alone
            lines = copytext.split_lines(batch.copy_text)
            changes = [(key_of(tuple(line.split(b"\t"))), hash(line)) for line in lines]
        else:
            changes = [
                (key_of(row), _digest(batch.op(index), row)) for index, row in enumerate(batch.rows)
            ]
        seen, whole, kept, fresh = self._seen, self._whole, [], Unremembered()
        passed: dict[object, int] = {}  # a key changed twice in the page: its newest passed
        for index, (key, digest) in enumerate(changes):
            if key in passed:
                last: int | None = passed[key]
            elif (known := seen.get(key)) is not None:
                last = known[0]
            else:  # as the full read journaled it, or never seen
                last = digest if digest in whole else None
            if last == digest:
                if key not in passed:  # read again: still in the window, so it stays
                    seen.pop(key, None)
                    seen[key] = (digest, now)
                continue
            passed[key] = digest
            kept.append(index)
            fresh.entries.append((key, digest))
        self.dropped += len(changes) - len(kept)
        if len(kept) == len(changes):
            return batch, fresh
        return batch.select(kept), fresh

    def remember(self, journaled: Unremembered) -> None:
        """Note the rows of a page as journaled (after its commit)."""
        now, seen = self.clock.now(), self._seen
        for key, digest in journaled.entries:
            seen.pop(key, None)
            seen[key] = (digest, now)
        while len(seen) > self.most:
            del seen[next(iter(seen))]

    def remember_whole(self, batch: ChangeBatch) -> None:
        """Note a page of a full read as journaled (after its commit), as long as the
        memory has room: the look-back re-read that follows the full read is not a change."""
        if len(self._whole) >= _WHOLE_MOST or not len(batch):
            return
        if batch.copy_text is not None:
            self._whole.update(map(hash, copytext.split_lines(batch.copy_text)))
            return
        ops = repeat(Op.UPSERT) if batch.ops is None else batch.ops
        self._whole.update(map(hash, map(repr, zip(ops, batch.rows, strict=False))))

    def window_read(self) -> None:
        """An incremental read ended: the full read's window has been read again, and what
        it found is remembered by key; the full read's digests are not needed any more."""
        self._whole = set()

    def _forget_old(self, now: float) -> None:
        seen, oldest = self._seen, now - self.keep_s
        while seen:
            key = next(iter(seen))
            if seen[key][1] >= oldest:
                return
            del seen[key]


def keep_for(lookback_s: float, interval_s: float) -> float:
    """How long a row stays remembered unread: past the window and two polls, with a minute
    to spare (a row forgotten too soon is only journaled once more)."""
    return 2 * (lookback_s + interval_s) + 60.0
