"""The engine running with its webhook ingress, for the conformance kit's webhook check."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from types import TracebackType

from syncwell.api import ApiServer, create_app
from syncwell.engine import Engine
from syncwell.testing.observe import Destination, Records
from syncwell.workspace import Workspace

__all__ = ["EngineNotReady", "WebhookRun"]

_READY_S = 120.0  # the first (full) read of a realtime flow, before events count
_POLL_S = 0.2


class EngineNotReady(Exception):  # noqa: N818 - it says what happened, as the kit reports it
    """The engine or its webhook ingress did not start, or the first read never finished."""


class WebhookRun:
    """`Engine.run()` and `POST /hooks/<system>` on 127.0.0.1:`port` until the block ends.

    Entering waits until the flow's first read is delivered, so that every change counted
    afterwards came by webhook (a realtime flow polls again only after its interval).
    """

    def __init__(self, workspace: Workspace, flow: str, port: int) -> None:
        self._engine = Engine(workspace, analyse_every_s=None, grace_s=5.0)
        self._flow = flow
        self._port = port
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> WebhookRun:
        # uvicorn ends the process (SystemExit) when its port is taken: ask first.
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", self._port))
            except OSError as error:
                raise EngineNotReady(
                    f"could not listen on 127.0.0.1:{self._port}: {error}"
                ) from None
        server = ApiServer(create_app(self._engine), port=self._port)
        self._tasks = [
            asyncio.create_task(self._engine.run(stop=self._stop)),
            asyncio.create_task(server.serve(self._stop)),
        ]
        progress = self._engine.progress[self._flow]
        deadline = time.monotonic() + _READY_S
        while not (
            self._engine.committer is not None
            and progress.reads >= 1
            and progress.settled >= progress.read
        ):
            if time.monotonic() > deadline or any(task.done() for task in self._tasks):
                why = _failure(self._tasks) or f"flow {self._flow!r}'s first read took too long"
                await self._finish(quietly=True)
                raise EngineNotReady(f"the engine with its webhook ingress did not start: {why}")
            await asyncio.sleep(_POLL_S)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self._finish()

    async def _finish(self, *, quietly: bool = False) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=quietly)

    def hooked(self) -> int:
        """Changes that arrived by webhook so far."""
        return self._engine.progress[self._flow].hooked

    async def until(
        self, destination: Destination, arrived: Callable[[Records], bool], within_s: float
    ) -> float | None:
        """When (monotonic seconds) `arrived` held for the destination; None if it never did."""
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            if arrived(await destination.records()):
                return time.monotonic()
            await asyncio.sleep(_POLL_S)
        return None


def _failure(tasks: list[asyncio.Task[None]]) -> str:
    """What ended a task that should still run (the port was taken, the read failed)."""
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            error = task.exception()
            return f"{type(error).__name__}: {error}"
    return ""
