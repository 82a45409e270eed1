"""A webhook receiver on loopback that verifies every request, for tests of webhooks out.

Registered as a pytest plugin (tests/conftest.py), so any test can ask for `receiver`.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SECRET = "whsec_" + base64.b64encode(b"syncwell webhook test key, 32 b").decode()


@dataclass
class Received:
    """One request the receiver verified."""

    id: str
    timestamp: int
    signature: str
    payload: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Receiver:
    """A webhook receiver that verifies with `standardwebhooks` and answers as scripted."""

    secret: str
    url: str = ""
    received: list[Received] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    script: dict[str, list[tuple[int, dict[str, str], str]]] = field(default_factory=dict)
    delay_s: float = 0.0
    in_flight: int = 0
    most_in_flight: int = 0

    def answer(self, key: object, status: int, headers: dict[str, str] | None = None) -> None:
        """Answer the next request about record `key` with `status` (then 200 again)."""
        text = f"scripted {status} for {key}"
        self.script.setdefault(str(key), []).append((status, headers or {}, text))

    def about(self, key: object) -> list[Received]:
        """The verified requests about record `key`, in arrival order."""
        return [r for r in self.received if str(r.payload["data"]["id"]) == str(key)]

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers)
        try:
            payload = Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError as error:
            self.refused.append(str(error))
            return Response(status_code=401)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay_s)
        finally:
            self.in_flight -= 1
        self.received.append(
            Received(
                id=headers["webhook-id"],
                timestamp=int(headers["webhook-timestamp"]),
                signature=headers["webhook-signature"],
                payload=payload,
                headers=headers,
            )
        )
        planned = self.script.get(str(payload["data"]["id"]))
        if planned:
            status, extra, text = planned.pop(0)
            return Response(text, status_code=status, headers=extra)
        return Response(status_code=204)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A receiver served by uvicorn on a free loopback port."""
    receiver = Receiver(SECRET)
    app = Starlette(routes=[Route("/hook", receiver.endpoint, methods=["POST"])])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 -- uvicorn offers a flag, not an event
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    receiver.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task
