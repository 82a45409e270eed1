"""A loopback proxy in front of a real tool that can hold back the answer to a create.

A kill -9 between the tool's create and syncwell storing the new id is hard to time against
a real server: its answer comes back within milliseconds. Through this proxy the request
reaches the tool, the tool creates the record and answers, and the proxy keeps that answer
(`hold_creates`): the test then kills syncwell while the record exists and its id is known
only to the tool.
"""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_HOP_BY_HOP = frozenset({"connection", "content-length", "transfer-encoding", "keep-alive"})


class HoldingProxy:
    """Forwards every request to `upstream`; on a loopback port while used as a context."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.hold_creates = False
        """Forward each POST, then never answer it (the tool has created the record)."""
        self.held = 0
        """POSTs the tool answered whose answers are held back."""
        self.forwarded: list[str] = []
        """Each request forwarded, as `METHOD path`."""
        self.url = ""
        """The proxy's root, standing for the tool's (set once it listens)."""
        app = Starlette(
            routes=[Route("/{path:path}", self._forward, methods=["GET", "POST", "PUT", "DELETE"])]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._closing = False
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    async def _forward(self, request: Request) -> Response:
        path = request.url.path
        self.forwarded.append(f"{request.method} {path}")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in {"host"}}
        async with httpx.AsyncClient(timeout=30) as client:
            answer = await client.request(
                request.method,
                f"{self.upstream}{path.removeprefix('/parse')}",
                params=request.query_params.multi_items(),
                content=await request.body(),
                headers=headers,
            )
        if request.method == "POST" and self.hold_creates:
            self.held += 1
            # The answer is lost: syncwell is killed meanwhile. (`_closing` is set from the
            # test's thread, where no asyncio.Event of this server's loop can be set.)
            while not self._closing:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
        kept.pop("content-encoding", None)  # httpx has decoded the body already
        return Response(answer.content, status_code=answer.status_code, headers=kept)

    def __enter__(self) -> HoldingProxy:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "the proxy did not start"
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/parse"
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing = True
        self._server.should_exit = True
        self._thread.join(timeout=10)
