"""The look-back window: which records behind the cursor were already taken in.

An incremental read asks for records changed since the cursor minus the look-back, so that a
record committed late (with an older timestamp) is not missed. The records it re-reads there
were mostly taken in by the last read. Each read remembers a short digest of the key, cursor
value and values of the records in the window behind its final cursor; the next read skips those,
and keeps any record whose digest is new: a late arrival, or a newer version. A poll that
finds nothing newer then yields nothing at all, and the same checkpoint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection

__all__ = ["MAX_REMEMBERED", "Window", "digest"]

MAX_REMEMBERED = 500
"""Digests a checkpoint keeps at most; a busier window is re-read whole (safe, just wasteful)."""


def digest(key: str, cursor: object, record: object = None) -> str:
    """A short, stable name of one version of one record.

    The record's values are part of it: a cursor kept to the second (as many APIs keep
    `updated_at`) can name two versions, one read and one written later in the same second,
    and the second must not pass for the first.
    """
    text = json.dumps([key, cursor, record], default=str, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Window:
    """The digests a read was given (taken in before), and those it sees.

    Args:
        taken: digests the last read remembered.
    """

    def __init__(self, taken: Collection[str]) -> None:
        self._taken = frozenset(taken)
        self._seen: dict[str, int] = {}

    @property
    def holds_any(self) -> bool:
        """Whether the last read remembered any version (none after a full read's start)."""
        return bool(self._taken)

    def taken(self, name: str) -> bool:
        """Whether the last read already took in this version of this record."""
        return name in self._taken

    def note(self, name: str, at_micros: int, floor_micros: int | None) -> None:
        """Remember a record version seen at `at_micros`; older than `floor_micros` is moot."""
        self._seen[name] = at_micros
        if floor_micros is not None and len(self._seen) > 4 * MAX_REMEMBERED:
            self._seen = {n: at for n, at in self._seen.items() if at >= floor_micros}

    def remembered(self, floor_micros: int | None) -> list[str]:
        """The digests to keep for the next read: those at or after `floor_micros`, sorted.

        Empty when there are more than `MAX_REMEMBERED`: the next read then re-reads them.
        """
        if floor_micros is None:
            return []
        kept = sorted(name for name, at in self._seen.items() if at >= floor_micros)
        return kept if len(kept) <= MAX_REMEMBERED else []
