"""A webhook request as the verifiers see it: raw bytes and headers, nothing parsed yet."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from syncwell.api.signatures import _Headers

__all__ = ["Sent"]


@dataclass(frozen=True, slots=True)
class Sent:
    """One request to `/hooks/<system>[/<secret>]`.

    Attributes:
        method: the HTTP method, upper case.
        headers: the headers, by lower-cased name, duplicates kept to be refused.
        body: the raw body bytes, exactly as received.
        path_secret: the segment after `/hooks/<system>/`, if any. Never logged or echoed.
    """

    method: str
    headers: _Headers
    body: bytes
    path_secret: str | None = None

    @classmethod
    def of(
        cls,
        method: str,
        headers: Mapping[str, str],
        body: bytes,
        path_secret: str | None = None,
    ) -> Sent:
        return cls(method.upper(), _Headers(headers), body, path_secret)
