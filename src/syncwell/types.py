"""Shared values and Protocols: what a change looks like, where a flow stands, what time it is.

A source hands the engine changes a batch at a time, as rows aligned to a tuple of column names.
That keeps the hot path free of a Python object per record: a million rows cross the engine as
a few hundred tuples-of-tuples (or, between PostgreSQL systems, a few hundred COPY pages).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from syncwell import copytext

__all__ = [
    "ChangeBatch",
    "Checkpoint",
    "Clock",
    "JSONValue",
    "Op",
    "RequestBudget",
    "Row",
    "StreamSpec",
    "SystemClock",
]

JSONValue = str | int | float | bool | None | list["JSONValue"] | dict[str, "JSONValue"]
Checkpoint = Mapping[str, JSONValue]
"""A flow's position in its source. The source owns its content; the engine stores it as JSON."""

Row = tuple[object, ...]
"""One record's values, aligned to its batch's `columns`."""


class Op(StrEnum):
    """What a change does to its record."""

    UPSERT = "upsert"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """What a connector reads or writes for one flow, in that system's own names.

    Attributes:
        name: the table or stream in the system.
        key: the columns that identify a record.
        columns: the columns to move; empty means every column of the stream.
        cursor: the column an incremental read orders and filters by (`updated_at`).
        version: the column that orders versions of a record; newer never loses to older.
        lookback_s: how far behind its cursor an incremental read starts again, in seconds.
        batch_size: records per read page and per write.
        copy_text: read pages as PostgreSQL text COPY (`ChangeBatch.copy_text`); the engine
            asks for it when both ends of a flow are PostgreSQL.
    """

    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...] = ()
    cursor: str | None = None
    version: str | None = None
    lookback_s: float = 0.0
    batch_size: int = 5000
    copy_text: bool = False


@dataclass(frozen=True, slots=True)
class ChangeBatch:
    """Changes of one flow in source order: `rows[i]` holds the values of `columns`.

    Attributes:
        columns: column names, in the order of each row's values.
        rows: the records' values.
        ops: one `Op` per row; `None` means every row is an upsert, the common case kept cheap.
        observed_at: when the oldest of these changes happened (Unix seconds), which their
            freshness lag runs from; a connector's batch holds when it was read, and the
            engine sets the change's own time (engine/changetimes.py).
        copy_text: instead of `rows`, the records as PostgreSQL text COPY lines (upserts
            only, values as PostgreSQL prints them); see `syncwell.copytext`.
        keys_repeat: the batch may hold several changes to one key (COPY-text pages joined
            for one delivery); the destination must keep the newest of each.
        page: the source's name for the page these records came from, where a page can be
            asked for again conditionally (an http page with an ETag); never journaled.
        page_unchanged: the source says page `page` holds what it held last time (an http
            304); the batch is empty, and the keys last seen on that page are still there.
        kept_keys: the indexes of rows that update a record the source held under the same
            key, where the source can tell (a change stream's updates); a key ledger knows
            those keys already. Never journaled.
    """

    columns: tuple[str, ...]
    rows: Sequence[Row]
    ops: Sequence[Op] | None = None
    observed_at: float = field(default_factory=time.time)
    copy_text: bytes | None = None
    keys_repeat: bool = False
    page: str | None = None
    page_unchanged: bool = False
    kept_keys: frozenset[int] = frozenset()

    def __len__(self) -> int:
        if self.copy_text is not None:
            return copytext.line_count(self.copy_text)
        return len(self.rows)

    def op(self, index: int) -> Op:
        """The operation of row `index`."""
        return Op.UPSERT if self.ops is None else self.ops[index]

    def select(self, indexes: Sequence[int]) -> ChangeBatch:
        """A batch of just these rows, in the given order."""
        if self.copy_text is not None:
            lines = copytext.split_lines(self.copy_text)
            chosen = copytext.join_lines([lines[i] for i in indexes])
            return ChangeBatch(self.columns, (), None, self.observed_at, chosen, self.keys_repeat)
        ops = None if self.ops is None else [self.ops[i] for i in indexes]
        return ChangeBatch(self.columns, [self.rows[i] for i in indexes], ops, self.observed_at)

    def decoded(self) -> ChangeBatch:
        """The same changes as rows of values (text, for a COPY batch)."""
        if self.copy_text is None:
            return self
        rows = [copytext.parse_line(line) for line in copytext.split_lines(self.copy_text)]
        return ChangeBatch(self.columns, rows, None, self.observed_at)


class Clock(Protocol):
    """Where time comes from. Tests pass `syncwell.testing.FakeClock` and never sleep."""

    def now(self) -> float:
        """Seconds on a monotonic clock."""
        ...

    def wall(self) -> float:
        """Unix seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait this long (a fake clock returns at once and moves its time)."""
        ...


class RequestBudget(Protocol):
    """A system's shared request budget (the engine's rate limiter), as a connector sees it.

    A connector that makes one request per page or per chunk spends the budget itself and
    reports what the system's answers said about it, so every flow of the system adapts.
    """

    async def acquire(self, cost: int = 1) -> None:
        """Wait until `cost` requests may go, then take them from the budget."""
        ...

    def pause_for(self, seconds: float) -> None:
        """Let no request go for `seconds` (the system sent a Retry-After)."""
        ...

    def learn(
        self,
        limit: int | None,
        remaining: int | None,
        reset_after_s: float | None,
        *,
        window_s: float | None = None,
    ) -> None:
        """Adapt to the system's rate-limit headers (limit per window, remaining, reset)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        import asyncio

        await asyncio.sleep(max(0.0, seconds))
