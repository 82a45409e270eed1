"""Which partition a change goes to: a stable hash of its key.

Changes to one key must be applied in source order (DESIGN.md, delivery semantics 3); changes
to different keys may interleave. So a flow's changes are split by key into a fixed number of
partitions, each delivered in order by one worker at a time, and the partitions in parallel.
The hash must be the same in every process and every run (Python's `hash` of a str is salted
per process), so it is BLAKE2b of the key's text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from syncwell.types import ChangeBatch

__all__ = ["partition_of", "split_by_partition"]


def partition_of(key: str, partitions: int) -> int:
    """The partition of `key`, in [0, partitions)."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % partitions


def split_by_partition(
    batch: ChangeBatch, key_columns: Sequence[str], partitions: int
) -> dict[int, ChangeBatch]:
    """`batch` cut into one batch per partition that has changes, each in source order."""
    if partitions == 1:
        return {0: batch} if len(batch) else {}
    rows = batch.decoded().rows
    positions = [batch.columns.index(column) for column in key_columns]
    chosen: dict[int, list[int]] = {}
    for index, row in enumerate(rows):
        key = "\x1f".join(str(row[position]) for position in positions)
        chosen.setdefault(partition_of(key, partitions), []).append(index)
    return {partition: batch.select(indexes) for partition, indexes in sorted(chosen.items())}
