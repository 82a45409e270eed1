"""Serving an app to a test in-process, with its lifespan run around the client.

httpx's ASGITransport sends requests only: it never runs the app's lifespan. The app's
state store is closed at the lifespan's shutdown, so without it the store's connections were
left to the garbage collector, which closed them tests later (aiosqlite's "deleted before
being closed" ResourceWarning, at random later tests in CI).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
from starlette.types import ASGIApp, Message, Scope


@contextlib.asynccontextmanager
async def lifespan_of(app: ASGIApp) -> AsyncIterator[None]:
    """Run `app`'s startup, then its shutdown when the block ends."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()
    scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    running = asyncio.create_task(app(scope, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        assert (await outbox.get())["type"] == "lifespan.shutdown.complete"
        await running


@contextlib.asynccontextmanager
async def serving(
    app: ASGIApp,
    *,
    headers: dict[str, str] | None = None,
    base_url: str = "http://syncwell",
    address: str = "127.0.0.1",
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app` sending `headers`, as if from `address`, with the app's lifespan run
    around it (so the state store it opens is closed when the block ends)."""
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    async with (
        lifespan_of(app),
        httpx.AsyncClient(transport=transport, base_url=base_url, headers=headers) as client,
    ):
        yield client
