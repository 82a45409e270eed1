"""The reference server: uvicorn with syncwell's options and one Starlette route that reads the
body and answers 200 with a small JSON body, doing nothing else.

Run: ``python bench/_webhooks_bare.py PORT``. It serves ``POST /hooks/{system}`` and
``GET /readyz``, on 127.0.0.1, until SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Generator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["app"]


async def _hook(request: Request) -> Response:
    await request.body()
    return JSONResponse({"status": "accepted", "id": request.headers.get("webhook-id")})


async def _ready(request: Request) -> Response:
    return JSONResponse({"status": "ready"})


app = Starlette(
    routes=[
        Route("/hooks/{system}", _hook, methods=["POST"]),
        Route("/readyz", _ready, methods=["GET"]),
    ]
)


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # As in syncwell's ApiServer: the program owns SIGTERM and exits 0 on it (uvicorn's own
        # handler would re-raise the signal after shutting down, and the exit status with it).
        yield


async def _serve(port: int) -> None:
    # The options of syncwell.api.server.ApiServer, so both servers run the same HTTP stack.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
    )
    server = _QuietServer(config)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda: setattr(server, "should_exit", True))
    await server.serve()


if __name__ == "__main__":
    asyncio.run(_serve(int(sys.argv[1])))
