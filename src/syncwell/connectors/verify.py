"""Reading written records back to verify them: what a destination holds now, to compare with
what was sent.

A tool can answer 200 to a write and not keep a field (a tracker that ignores `done_ratio` on
parent issues). A destination that can read its records back by key is `Verifiable`: the
engine re-reads a sample of what it wrote and counts a field that came back different as
drift (engine/verify.py). Reads go in batches where the destination can find many at once
(one SELECT by keys); an http tool is read at each record's own URL.

Whether a kind can read back a stream is decided from the settings alone (`unverifiable` in
each kind's module), so `syncwell check` can say so before anything runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Final, Protocol, runtime_checkable

from syncwell.connectors.identity import IdentityBook
from syncwell.types import ChangeBatch, Op, StreamSpec

__all__ = ["ABSENT", "ReadRecords", "Verifiable", "key_text", "upserted"]


class _Absent:
    """A field the destination's record does not hold at all (not even null)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()

ReadRecords = Mapping[str, Mapping[str, object] | None]
"""What a read found, by key (as `key_text` writes it): a record as column -> value, or None
where the destination holds no record with that key. A key left out could not be read (a
transient failure): it proves nothing either way."""


@runtime_checkable
class Verifiable(Protocol):
    """A destination that reads back, by key, records it wrote."""

    async def read_written(
        self, stream: StreamSpec, batch: ChangeBatch, book: IdentityBook
    ) -> ReadRecords:
        """The batch's upserted records as the destination holds them now.

        Each record found maps every column of `batch` the write sent to the destination
        (and that it can be asked for) to the value it holds, `ABSENT` where it holds none;
        a column the write did not send is left out, so it is not compared. Where
        `stream.cursor` is set and the write did not send it, each record also holds the
        destination's own value of it: when the record last changed there.

        Args:
            stream: the stream written, in the destination's names; its `cursor`, if any, is
                the destination's own last-change column (a two-way pair's tool cursor).
            batch: the records as they were written (deletes are skipped).
            book: the ids the tool assigned to the batch's records, where it assigns them.

        Raises:
            ConnectorError: nothing could be read (credentials, a missing table).
        """
        ...


def key_text(values: Sequence[object]) -> str:
    """A key as the engine writes it: ``42``, or ``["eu", "42"]`` for a key of several columns."""
    if len(values) == 1:
        return str(values[0])
    return json.dumps([str(value) for value in values])


def upserted(batch: ChangeBatch) -> ChangeBatch:
    """The batch's upserts, as rows of values (a COPY-text batch as text)."""
    batch = batch.decoded()
    if batch.ops is None:
        return batch
    return batch.select([i for i in range(len(batch)) if batch.op(i) is Op.UPSERT])
