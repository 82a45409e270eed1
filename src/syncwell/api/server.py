"""Serving the app with uvicorn inside the engine's event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator

import uvicorn
from starlette.types import ASGIApp

__all__ = ["ApiServer"]


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # The CLI owns SIGTERM and SIGINT: one stop event drains the engine and this server.
        yield


class ApiServer:
    """uvicorn on `host:port`, started and stopped with the engine.

    Args:
        app: the ASGI app.
        host: address to bind; 127.0.0.1 unless the tools must reach it from elsewhere.
        port: port to bind; 0 picks a free one (`port` tells which once started).
    """

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 8100) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,  # a request still waiting then is cut, never hangs a stop
        )
        self._server = _QuietServer(config)
        self.host = host
        self.port = port

    async def serve(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set."""
        serving = asyncio.ensure_future(self._server.serve())
        # uvicorn says it is listening only through a flag.
        while not self._server.started and not serving.done():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        if serving.done():
            serving.result()  # the port was taken: say so
            raise OSError(f"could not listen on {self.host}:{self.port}")
        sockets = [s for server in self._server.servers for s in server.sockets]
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        self._server.should_exit = True
        stopping.cancel()
        await serving
