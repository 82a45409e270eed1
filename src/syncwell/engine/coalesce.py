"""Coalescing: many changes to one key in a delivery become the newest one.

Changes to one key keep source order across journal entries; the newest is the one with the
highest version, and among equal versions the one that came last. Dict updates run in C, so a
batch without repeated keys (every page of a database read) costs one pass and no comparisons.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import repeat
from operator import itemgetter

from syncwell.types import ChangeBatch, Op, Row
from syncwell.versions import comparable

__all__ = ["coalesce", "key_getter"]


def key_getter(columns: Sequence[str], key: Sequence[str]) -> Callable[[Row], object]:
    """A function from a row to its key value (a tuple when the key has several columns)."""
    return itemgetter(*(list(columns).index(column) for column in key))


def coalesce(
    batches: Sequence[ChangeBatch], key: Sequence[str], version: str | None
) -> ChangeBatch:
    """One change per key, the newest, from batches that share their columns (in source order).

    COPY-text batches are joined as they are: their destination keeps the newest per key in
    SQL (DISTINCT ON), where it costs nothing per record in Python.
    """
    columns = batches[0].columns
    if batches[0].copy_text is not None:
        joined = b"".join(batch.copy_text or b"" for batch in batches)
        observed = min(b.observed_at for b in batches)
        repeats = len(batches) > 1 or batches[0].keys_repeat  # one relayed batch may, too
        return ChangeBatch(columns, (), None, observed, joined, keys_repeat=repeats)
    key_of = key_getter(columns, key)
    latest: dict[object, tuple[Row, Op]] = {}
    total = 0
    for batch in batches:
        ops = repeat(Op.UPSERT) if batch.ops is None else batch.ops
        pairs = zip(batch.rows, ops, strict=False)  # ops may be an endless repeat
        latest.update(zip(map(key_of, batch.rows), pairs, strict=False))
        total += len(batch.rows)
    if len(latest) < total and version is not None:
        latest = _newest_by_version(batches, key_of, columns.index(version))
    observed = min(batch.observed_at for batch in batches)
    if all(batch.ops is None for batch in batches):
        return ChangeBatch(columns, [row for row, _ in latest.values()], None, observed)
    rows, ops = zip(*latest.values(), strict=True) if latest else ((), ())
    return ChangeBatch(columns, list(rows), list(ops), observed)


def _newest_by_version(
    batches: Sequence[ChangeBatch], key_of: Callable[[Row], object], at: int
) -> dict[object, tuple[Row, Op]]:
    # Only reached when a key repeats: out-of-order arrivals must not let an older version win.
    latest: dict[object, tuple[Row, Op]] = {}
    for batch in batches:
        for index, row in enumerate(batch.rows):
            key = key_of(row)
            kept = latest.get(key)
            if kept is None or not _older(row[at], kept[0][at]):
                latest[key] = (row, batch.op(index))
    return latest


def _older(candidate: object, kept: object) -> bool:
    """Whether `candidate` is an older version than `kept`, compared as `comparable` forms.

    A change without a version (a delete event that names only its key) is ordered by
    arrival, as are versions of kinds that cannot be compared (a number against text).
    """
    if candidate is None or kept is None:
        return False
    a, b = comparable(candidate), comparable(kept)
    if a is None or b is None or isinstance(a, str) != isinstance(b, str):
        return False
    return a < b  # type: ignore[operator]  # same kind, checked above
