"""One request the connector sends, and what it is for: the context its errors are read in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from syncwell.connectors.http.endpoints import ItemErrors

__all__ = ["Call", "Purpose"]

Purpose = Literal["read", "lookup", "write", "delete"]
"""Read a page; look one record up before writing it (`write.find`); write; delete."""


@dataclass(frozen=True, slots=True)
class Call:
    """A request and its purpose.

    Attributes:
        method: the HTTP method.
        url: a path under base_url, or an absolute URL (a next-page link).
        purpose: read a page, look one record up (its errors are that record's), write
            records, or delete one; errors map differently for each.
        params: query parameters.
        body: the JSON body, or None for none.
        keys: the keys of the records a write carries (key text, as the engine writes it).
        passthrough: statuses handed back to the caller instead of raised (a create's 409
            that falls back to an update).
        item_errors: where a bulk answer lists the records it refused.
        headers: headers of this request only (a page's `If-None-Match`).
        names_record: the URL is one record's own (`/contacts/{id}`): a 404 or 410 there says
            the record is missing in the tool, not that the path is wrong.
    """

    method: str
    url: str
    purpose: Purpose
    params: Mapping[str, str] = field(default_factory=dict)
    body: object = None
    keys: tuple[str, ...] = ()
    passthrough: frozenset[int] = frozenset()
    item_errors: ItemErrors | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    names_record: bool = False

    @property
    def key(self) -> str | None:
        """The record's key when the call carries exactly one record."""
        return self.keys[0] if len(self.keys) == 1 else None
