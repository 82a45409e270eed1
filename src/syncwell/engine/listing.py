"""A destination's records, listed for a first sync: each as a match key and a digest.

The listing goes through the destination system's own `Source` (a table by its key, an http
stream through its `read:` and pagination), opened for the listing alone, and yields a page
at a time, so a destination of any size costs a page of memory (engine/firstsync.py).

A page that fails for a moment (a timeout, a 5xx, a 429) is asked for again, from the
checkpoint of the page before it, with the system's backoff: over a tool that fails one
request in twenty, a listing of a hundred pages that had to succeed whole would almost never
finish.
"""

from __future__ import annotations

import random
from collections.abc import AsyncGenerator, Awaitable, Callable

from syncwell.connectors import Source
from syncwell.connectors.matching import Matching
from syncwell.engine.compare import digest_of, match_text
from syncwell.engine.policies import backoff_delay
from syncwell.errors import TransientError
from syncwell.store.first_syncs import ListedRecord
from syncwell.types import ChangeBatch, Checkpoint, Clock, StreamSpec
from syncwell.workspace import RetryPolicy

__all__ = ["Opener", "listed_records", "listing", "listing_spec"]

Opener = Callable[[], Awaitable[Source]]
"""Connects to the destination system for reading (its listing); the caller closes it."""


def listing_spec(
    target: str, matching: Matching, columns: tuple[str, ...], batch_size: int
) -> StreamSpec:
    """What the destination's reader reads: the match fields, the tool's id, the compared
    columns, keyed by the tool's id where it assigns them (its records' own key)."""
    ids = () if matching.assigned_id is None else (matching.assigned_id,)
    read = tuple(dict.fromkeys([*matching.by, *ids, *columns]))
    return StreamSpec(name=target, key=ids or matching.by, columns=read, batch_size=batch_size)


async def listing(
    opener: Opener, spec: StreamSpec, retry: RetryPolicy, clock: Clock
) -> AsyncGenerator[ChangeBatch, None]:
    """The destination's records for `spec`, a page at a time, from one whole read; a page
    that fails transiently is tried again up to `retry.max_attempts` times in a row."""
    rng = random.Random()  # noqa: S311 - jitter, not security
    source = await opener()
    try:
        mark: Checkpoint | None = None
        failures = 0
        while True:
            reader = source.read(spec, mark)
            try:
                async for page, after in reader:
                    failures = 0
                    if len(page):
                        yield page.decoded()  # the caller keeps it before the next is asked
                    mark = after
                return
            except TransientError as error:
                failures += 1
                if failures >= retry.max_attempts:
                    raise
                wait = backoff_delay(retry, failures - 1, rng=rng, retry_after=error.retry_after)
                await clock.sleep(wait)
            finally:
                await reader.aclose()  # type: ignore[attr-defined]
    finally:
        await source.aclose()


def listed_records(
    page: ChangeBatch, matching: Matching, columns: tuple[str, ...]
) -> list[ListedRecord]:
    """The page's records as the comparison keeps them; one without a match key is left
    out (no source record can match it)."""
    by_at = [page.columns.index(column) for column in matching.by]
    at = [page.columns.index(c) if c in page.columns else None for c in columns]
    id_at = None if matching.assigned_id is None else page.columns.index(matching.assigned_id)
    found = []
    for row in page.rows:
        match = match_text([row[i] for i in by_at])
        if match is None:
            continue
        values = tuple(None if i is None else row[i] for i in at)
        remote = None if id_at is None or row[id_at] is None else str(row[id_at])
        found.append(ListedRecord(match, digest_of(columns, values), remote))
    return found
