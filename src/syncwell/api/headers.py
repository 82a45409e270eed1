"""Headers every answer carries: `nosniff`, so a browser never reads a JSON answer (or an
echoed value) as a page, and `no-store` unless the route chose its own caching, so tokens'
views, dead letters and metrics stay out of shared and browser caches.

A wrapper around ASGI's `send` rather than a Starlette middleware: it costs the webhook path,
which skips the framework, one header list copy, not a task per request.
"""

from __future__ import annotations

from starlette.types import Message, Send

__all__ = ["with_safe_headers"]

_NOSNIFF = (b"x-content-type-options", b"nosniff")
_NO_STORE = (b"cache-control", b"no-store")


def with_safe_headers(send: Send) -> Send:
    """`send`, adding the headers to the start of the answer where they are missing."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            names = {name.lower() for name, _ in headers}
            for name, value in (_NOSNIFF, _NO_STORE):
                if name not in names:
                    headers.append((name, value))
            message = {**message, "headers": headers}
        await send(message)

    return sending
