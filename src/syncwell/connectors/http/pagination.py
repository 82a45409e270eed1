"""Walking an endpoint page by page, in each of the styles APIs use.

A page is named by a token that a checkpoint can hold, so a read resumes at the page after the
last one committed: the cursor (cursor style), the absolute URL (next_url, link_header), the
offset (offset) or the page number (page). No token means the first page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from syncwell.connectors.http.endpoints import (
    CursorPages,
    LinkHeaderPages,
    NextUrlPages,
    OffsetPages,
    PageNumberPages,
    ReadEndpoint,
)
from syncwell.connectors.http.records import dig
from syncwell.types import JSONValue

__all__ = ["Page", "PageRequest", "Pager", "next_link"]

_LINK = re.compile(r'<([^>]*)>((?:\s*;\s*(?:[^;,<"]|"[^"]*")*)*)')
_REL = re.compile(r"""(?:^|;)\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))""", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Where a page is fetched: a path under base_url (or an absolute URL) and its query."""

    url: str
    params: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Page:
    """What the pager needs to know of an answer to find the next page."""

    response: httpx.Response
    body: object
    count: int


class Pager:
    """The requests of one read of `endpoint`, with `params` (incremental filter included).

    Args:
        endpoint: the stream's read endpoint.
        params: query parameters of the first request.
        batch_size: the flow's records per page; offset and page styles ask for at most this.
        path: where the first page is (an incremental filter's path); default endpoint.path.
    """

    def __init__(
        self,
        endpoint: ReadEndpoint,
        params: Mapping[str, str],
        batch_size: int,
        path: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self._path = path or endpoint.path
        self._style = endpoint.pagination
        self._params = dict(params)
        style = self._style
        self.page_size = batch_size
        if isinstance(style, OffsetPages | PageNumberPages):
            self.page_size = min(style.page_size, batch_size)
        if isinstance(style, PageNumberPages) and style.size_param is None:
            self.page_size = style.page_size  # the API's fixed size: ours cannot change it

    def request(self, token: JSONValue) -> PageRequest:
        """The request of the page `token` names (the first page for None)."""
        style, params = self._style, dict(self._params)
        if isinstance(style, NextUrlPages | LinkHeaderPages) and isinstance(token, str):
            return PageRequest(token, {})  # the URL carries its own query
        if isinstance(style, CursorPages) and isinstance(token, str | int):
            params[style.param] = str(token)
        elif isinstance(style, OffsetPages):
            params[style.offset_param] = str(_number(token, 0))
            params[style.limit_param] = str(self.page_size)
        elif isinstance(style, PageNumberPages):
            params[style.page_param] = str(_number(token, style.first_page))
            if style.size_param is not None:
                params[style.size_param] = str(self.page_size)
        return PageRequest(self._path, params)

    def next_token(self, token: JSONValue, page: Page) -> JSONValue:
        """The token of the page after `token`, or None when this was the last one."""
        found = self._next(token, page)
        return None if found == token else found  # an API that repeats itself ends the read

    def _next(self, token: JSONValue, page: Page) -> JSONValue:
        style = self._style
        if isinstance(style, CursorPages):
            cursor = dig(page.body, style.cursor_path)
            if isinstance(cursor, bool) or not isinstance(cursor, str | int) or cursor == "":
                return None
            return cursor
        if isinstance(style, NextUrlPages):
            url = dig(page.body, style.next_url_path)
            return _absolute(page.response, url) if isinstance(url, str) and url else None
        if isinstance(style, LinkHeaderPages):
            link = next_link(page.response.headers.get("link", ""))
            return _absolute(page.response, link) if link else None
        if isinstance(style, OffsetPages):
            offset = _number(token, 0) + page.count
            return offset if self._more(page, offset) else None
        if isinstance(style, PageNumberPages):
            number = _number(token, style.first_page)
            seen = (number - style.first_page + 1) * self.page_size
            return number + 1 if self._more(page, seen) else None
        return None

    def _more(self, page: Page, seen: int) -> bool:
        """Whether pages remain after `seen` records: a full page, short of the total."""
        if page.count < self.page_size:
            return False
        total = dig(page.body, self.endpoint.total) if self.endpoint.total else None
        return not (isinstance(total, int) and seen >= total)


def next_link(value: str) -> str | None:
    """The ``rel="next"`` target of a ``Link`` header (RFC 8288), or None."""
    for match in _LINK.finditer(value):
        for rel in _REL.finditer(match.group(2)):
            if "next" in (rel.group(1) or rel.group(2) or "").lower().split():
                return match.group(1).strip()
    return None


def _absolute(response: httpx.Response, url: str) -> str | None:
    """`url` resolved against the request that returned it, as RFC 3986 (and 8288) say."""
    try:
        return str(response.request.url.join(url))
    except httpx.InvalidURL:
        return None


def _number(token: JSONValue, default: int) -> int:
    return token if isinstance(token, int) and not isinstance(token, bool) else default
