"""The batch a destination receives: without the columns its flow never sends.

Columns are dropped here, at the moment of writing, and nowhere earlier: the record guard, the
dead letters and the journal still hold the whole change, and the version guard needs the
flow's version column even where the tool must not receive it (workspace/unsent.py decides
which columns go).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from syncwell import copytext
from syncwell.types import ChangeBatch
from syncwell.workspace.unsent import Unsent

__all__ = ["writable"]


def writable(batch: ChangeBatch, unsent: Unsent) -> ChangeBatch:
    """`batch` (in the destination's column names) without the columns `unsent` leaves out."""
    if unsent.nothing:
        return batch
    kept = [index for index, column in enumerate(batch.columns) if unsent.sent(column)]
    if len(kept) == len(batch.columns):
        return batch
    columns = tuple(batch.columns[index] for index in kept)
    if batch.copy_text is not None:
        return dataclasses.replace(
            batch, columns=columns, copy_text=_copy_kept(batch.copy_text, kept)
        )
    rows = [tuple(row[index] for index in kept) for row in batch.rows]
    return dataclasses.replace(batch, columns=columns, rows=rows)


def _copy_kept(text: bytes, kept: Sequence[int]) -> bytes:
    """The COPY lines with only the `kept` fields: a tab inside a value is escaped as ``\\t``,
    so every literal tab separates two fields."""
    lines = []
    for line in copytext.split_lines(text):
        fields = line.split(b"\t")
        lines.append(b"\t".join(fields[index] for index in kept))
    return copytext.join_lines(lines)
