"""Waiting in tests for something another task or process does."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def until(condition: Callable[[], bool], *, within_s: float, every_s: float = 0.05) -> None:
    """Return once `condition()` holds; fail the test after `within_s` seconds.

    Polling is the honest way to watch a condition that lives in another process or a file.
    """
    async with asyncio.timeout(within_s):
        while not condition():  # noqa: ASYNC110 - the condition has no event to wait on
            await asyncio.sleep(every_s)


async def until_true(
    check: Callable[[], Awaitable[bool]], *, within_s: float, every_s: float = 0.5
) -> None:
    """Like `until`, for a condition that must be asked over the network."""
    async with asyncio.timeout(within_s):
        while not await check():  # noqa: ASYNC110 - the condition has no event to wait on
            await asyncio.sleep(every_s)
