"""Listing a stream's keys (a key scan): a whole read without the incremental filter, keeping
only each record's key, checked for completeness before anything is taken for deleted.

An API seldom has a cheaper way to list ids than its read endpoint, so the scan pages through
it as a full read does. What it must not do is stop short and pass for complete: when the
stream names a `total`, the listing must hold that many records, or the scan fails (DESIGN.md:
never apply "missing means deleted" after an incomplete read).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from syncwell.connectors.http.endpoints import ReadEndpoint
from syncwell.connectors.http.filters import ReadQuery, read_query
from syncwell.connectors.http.pagination import Page, Pager
from syncwell.connectors.http.records import MISSING, dig
from syncwell.connectors.http.whole import check_whole, ignored_page, total_of
from syncwell.types import JSONValue, Row, StreamSpec

__all__ = ["Fetch", "list_keys"]

Fetch = Callable[[Pager, JSONValue, ReadQuery], Awaitable[tuple[list[object], Page | None]]]
"""Fetches one page of a read: the source's own, so auth, budget and errors are the same."""


async def list_keys(
    fetch: Fetch, endpoint: ReadEndpoint, stream: StreamSpec, system: str
) -> AsyncIterator[Sequence[Row]]:
    """Every record's key values, a page at a time.

    Raises:
        IntegrationFatalError: the listing looks incomplete (fewer or more records than the
            answer's `total`, or a page an error rule said to ignore).
    """
    query = read_query(endpoint, None)
    pager = Pager(endpoint, query.params, stream.batch_size, query.path)
    token: JSONValue = None
    listed, total = 0, None
    what = f"the key scan of '{stream.name}'"
    while True:
        records, page = await fetch(pager, token, query)
        if page is None:
            raise ignored_page(what, system)
        total = total_of(page.body, endpoint) if total is None else total
        listed += len(records)
        yield [row for row in map(_key_of(stream), records) if row is not None]
        following = pager.next_token(token, page)
        if following is None:
            break
        token = following
    check_whole(what, endpoint, listed, total, system)


def _key_of(stream: StreamSpec) -> Callable[[object], Row | None]:
    def key(record: object) -> Row | None:
        if not isinstance(record, dict):
            return None
        values = tuple(dig(record, column) for column in stream.key)
        if any(value is MISSING or value is None for value in values):
            return None  # the read skips it too, with a warning
        return values

    return key
