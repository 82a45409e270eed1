"""A webhook subscriber on loopback that keeps every delivery, raw, as it arrived."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass(frozen=True)
class Delivery:
    body: bytes
    headers: dict[str, str]

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Receiver:
    """`async with Receiver() as hooks:` then point a subscription at `hooks.url`.

    Args:
        fail_first: answer this many deliveries with a 500 before accepting any.
    """

    def __init__(self, *, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.deliveries: list[Delivery] = []
        self.refused: list[Delivery] = []
        self._arrived = asyncio.Event()
        app = Starlette(routes=[Route("/hooks", self._hook, methods=["POST"])])
        self._server = _Server(uvicorn.Config(app, lifespan="off", log_config=None))
        self._task: asyncio.Task[None] | None = None
        self.url = ""

    async def _hook(self, request: Request) -> Response:
        delivery = Delivery(await request.body(), dict(request.headers))
        if len(self.refused) < self.fail_first:
            self.refused.append(delivery)
            return Response(status_code=500)
        self.deliveries.append(delivery)
        self._arrived.set()
        return Response(status_code=204)

    async def wait_for(self, count: int, within_s: float = 5.0) -> list[Delivery]:
        """Wait until `count` deliveries were accepted; all accepted so far."""
        async with asyncio.timeout(within_s):
            while len(self.deliveries) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.deliveries

    async def __aenter__(self) -> Receiver:
        sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hooks"
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
            await asyncio.sleep(0.005)
        return self

    async def __aexit__(self, *_: object) -> None:
        self._server.should_exit = True
        assert self._task is not None
        await self._task
