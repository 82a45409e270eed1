"""Conditional page requests for streams read whole: `If-None-Match` with the page's last ETag.

A stream without a cursor is read in full every interval. Where the API tags its pages with
an `ETag` (RFC 9110 §8.8.3), the next read sends it back in `If-None-Match`, and a page that
has not changed answers 304 with no body: no records to decode, often no rate-limit cost. The
engine's key ledger then takes the keys last seen on that page as still there (their records
unchanged), so a pass over a tool whose data is quiet costs a request per page and nothing
else.

The tags are kept in the checkpoint of a finished read, with each page's successor (a 304
has no body to find the next page in). A read resumed in the middle asks unconditionally.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import httpx

from syncwell.types import Checkpoint, JSONValue

__all__ = ["MAX_PAGES", "PageTags", "page_name"]

MAX_PAGES = 10_000
"""Pages whose tags a checkpoint keeps at most; a longer listing is read unconditionally."""


def page_name(token: JSONValue) -> str:
    """A page token as the text the key ledger and the checkpoint name it by."""
    return json.dumps(token, sort_keys=True)


class PageTags:
    """The ETags of one read's pages: those the last read kept, and those this one sees.

    Args:
        kept: the last finished read's tags, by page name: [etag, next page token, records].
    """

    def __init__(self, kept: Mapping[str, list[JSONValue]]) -> None:
        self._kept = dict(kept)
        self._seen: dict[str, list[JSONValue]] = {}

    @classmethod
    def resume(cls, checkpoint: Checkpoint | None) -> PageTags:
        """The tags a checkpoint holds (none in the middle of a read, or before one)."""
        found = checkpoint.get("tags") if checkpoint is not None else None
        if not isinstance(found, dict):
            return cls({})
        return cls({name: v for name, v in found.items() if isinstance(v, list) and len(v) == 3})

    def headers(self, token: JSONValue) -> dict[str, str]:
        """The condition to send with page `token`: its last ETag, if it had one."""
        kept = self._kept.get(page_name(token))
        return {"If-None-Match": str(kept[0])} if kept else {}

    def unchanged(self, token: JSONValue) -> tuple[JSONValue, int]:
        """Page `token` answered 304: it is as last time. The token of the page after it,
        and how many records it holds."""
        kept = self._kept[page_name(token)]
        self._seen[page_name(token)] = kept
        count = kept[2]
        return kept[1], count if isinstance(count, int) else 0

    def note(
        self, token: JSONValue, response: httpx.Response, following: JSONValue, count: int
    ) -> None:
        """Page `token` answered in full with `count` records; keep its ETag (a weak one too:
        RFC 9110 §13.1.2 compares them weakly for If-None-Match) and the page after it."""
        etag = response.headers.get("etag")
        if etag:
            self._seen[page_name(token)] = [etag, following, count]

    def to_json(self) -> dict[str, JSONValue]:
        """The tags for the checkpoint of the finished read (none past `MAX_PAGES`)."""
        if len(self._seen) > MAX_PAGES:
            return {}
        return {name: list(value) for name, value in self._seen.items()}
