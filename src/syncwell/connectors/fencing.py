"""A check a destination runs inside its write's transaction, just before it commits.

A distributed worker may lose its partition while it writes (it was paused past
``ack_wait_s``, and another worker took the batch over: store/leases.py). A check before the
write leaves the write itself unguarded. A destination that writes in a transaction calls
`before_commit` after its statements and before it commits: the rows it wrote are locked by
then, so a newer holder's write of the same keys waits for this transaction, and a check that
fails rolls it back. Outside a distributed delivery nothing is set and it does nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar

__all__ = ["before_commit", "fenced_by"]

Check = Callable[[], Awaitable[None]]

_check: ContextVar[Check | None] = ContextVar("syncwell_commit_fence", default=None)


@contextlib.contextmanager
def fenced_by(check: Check | None) -> Iterator[None]:
    """Within the block, `before_commit` runs `check` (which raises to refuse the write)."""
    token = _check.set(check)
    try:
        yield
    finally:
        _check.reset(token)


async def before_commit() -> None:
    """Run the write's fence, if it has one: it raises when the write must not commit."""
    check = _check.get()
    if check is not None:
        await check()
