"""What this destination has already written, so a retried batch re-sends only what failed.

The engine retries a whole batch; an API written in chunks of 100 may have taken 29 of 30
chunks before the 30th failed. Remembering each record written (its key, version and values)
for the life of the process turns the retry into one request instead of thirty, which matters
when every request spends a budget of ten a second. A record is skipped only when the very same
change was written: a new version or new values always go.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterable

from syncwell.connectors.http.templates import Item

__all__ = ["SentMemory"]


class SentMemory:
    """A bounded memory of written changes, oldest forgotten first."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._sent: OrderedDict[bytes, None] = OrderedDict()

    def unsent(self, stream: str, role: str, items: Iterable[Item]) -> list[Item]:
        """The items whose change was not written before."""
        return [item for item in items if _fingerprint(stream, role, item) not in self._sent]

    def remember(self, stream: str, role: str, items: Iterable[Item]) -> None:
        """Note these items as written."""
        for item in items:
            self._sent[_fingerprint(stream, role, item)] = None
        while len(self._sent) > self._capacity:
            self._sent.popitem(last=False)


def _fingerprint(stream: str, role: str, item: Item) -> bytes:
    change = json.dumps(
        [stream, role, item.key_text, item.version, item.record], sort_keys=True, default=str
    )
    return hashlib.blake2b(change.encode(), digest_size=16).digest()
