"""A first sync's listing of its destination: a page that fails for a moment is asked for
again from the page before it, so a long listing over a flaky tool finishes, each page once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from syncwell.connectors import Source
from syncwell.engine.listing import listing
from syncwell.errors import TransientError
from syncwell.testing import FakeClock
from syncwell.types import ChangeBatch, Checkpoint, StreamSpec
from syncwell.workspace import RetryPolicy

SPEC = StreamSpec(name="things", key=("id",), columns=("id",))


class FlakyPages:
    """Ten pages of one record; the pages in `failing` fail once each, as a 503 would."""

    def __init__(self, failing: set[int]) -> None:
        self.failing = set(failing)
        self.asked: list[int] = []
        self.closed = False

    async def read(
        self, stream: StreamSpec, checkpoint: Checkpoint | None
    ) -> AsyncIterator[tuple[ChangeBatch, Checkpoint]]:
        start = 0 if checkpoint is None else int(str(checkpoint["page"]))
        for page in range(start, 10):
            self.asked.append(page)
            if page in self.failing:
                self.failing.discard(page)
                raise TransientError("503 from things", system="tool")
            yield ChangeBatch(("id",), [(page,)]), {"page": page + 1}

    async def estimate(self, stream: StreamSpec) -> int | None:
        return None

    async def aclose(self) -> None:
        self.closed = True


async def _listed(tool: FlakyPages, attempts: int) -> list[int]:
    async def opener() -> Source:
        return tool

    retry = RetryPolicy(max_attempts=attempts, base_s=0.01, cap_s=0.01)
    return [int(str(page.rows[0][0])) async for page in listing(opener, SPEC, retry, FakeClock())]


async def test_pages_that_fail_once_are_read_again_from_the_page_before() -> None:
    """Pages 3 and 7 fail once: every page is listed once, in order, and the reader asks
    for each failed page again (not for the listing from the start)."""
    tool = FlakyPages({3, 7})
    assert await _listed(tool, attempts=3) == list(range(10))
    assert tool.asked == [0, 1, 2, 3, 3, 4, 5, 6, 7, 7, 8, 9] and tool.closed


async def test_a_page_that_keeps_failing_fails_the_listing() -> None:
    """Out of attempts on one page: the failure goes to the read, which backs off as any."""
    tool = FlakyPages({4})
    with pytest.raises(TransientError):
        await _listed(tool, attempts=1)
    assert tool.closed
