"""The gateway in front of every tool: latency, rate limit, outages, auth, injected errors.

It is ASGI middleware, so the tools' routes stay plain. `/_sandbox/*` (admin, stats, API docs)
passes straight through: it needs no auth, is never faulted and is never counted.

Order, as a real API gateway does it: the network adds latency; the limiter counts every
request (so hammering during an outage earns 429s); an outage answers 503; then credentials
are checked; then the backend may fail on its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from syncwell.sandbox.faults import retry_after
from syncwell.sandbox.tool import ToolRuntime

__all__ = ["ADMIN_PREFIX", "ErrorBody", "Gate", "GatePolicy"]

ADMIN_PREFIX = "/_sandbox"

_ERROR_MESSAGES = {
    500: "internal error, please retry",
    502: "bad gateway",
    503: "service temporarily unavailable",
}


# (status, message, per-item errors) -> the JSON body of an error in the tool's own words.
ErrorBody = Callable[[int, str, list[dict[str, object]]], dict[str, object]]


@dataclass(frozen=True)
class GatePolicy:
    """How one tool checks credentials and words its errors."""

    authorize: Callable[[Headers], bool]
    error_body: ErrorBody
    rate_limit_headers: bool
    """Whether answers carry `X-RateLimit-*` (stingy APIs only send `Retry-After` on a 429)."""
    unauthorized_headers: Mapping[str, str] = field(default_factory=dict)


class Gate:
    """ASGI middleware applying a tool's faults and policy to every API request."""

    def __init__(self, app: ASGIApp, runtime: ToolRuntime, policy: GatePolicy) -> None:
        self.app = app
        self.runtime = runtime
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        stats = self.runtime.stats
        arrival = stats.arrive()
        status = 500
        extra: dict[str, str] = {}

        async def counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers.setdefault(name, value)
            await send(message)

        try:
            refusal = await self._screen(scope, extra)
            if refusal is not None:
                await refusal(scope, receive, counted)
            else:
                await self.app(scope, receive, counted)
        finally:
            stats.answered(arrival, scope["method"], scope["path"], status)

    async def _screen(self, scope: Scope, extra: dict[str, str]) -> Response | None:
        """The refusal to send instead of the tool's answer, or None to let the request in."""
        faults, stats = self.runtime.faults, self.runtime.stats
        if (latency := faults.latency_s()) > 0:
            await asyncio.sleep(latency)
        if (limit := faults.settings.rate_limit_per_s) is not None:
            verdict = self.runtime.limiter.take(limit)
            if self.policy.rate_limit_headers:
                extra.update(verdict.headers())
            if not verdict.allowed:
                wait = retry_after(verdict.reset_s)
                stats.told_to_wait(float(wait))
                message = f"rate limit of {limit} requests per second exceeded"
                return self._refuse(429, message, {"Retry-After": wait})
        if faults.throttled():
            wait = str(faults.settings.throttle_s)
            stats.told_to_wait(float(wait))
            return self._refuse(429, "too many requests, slow down", {"Retry-After": wait})
        if (left := faults.outage_left_s()) is not None:
            stats.outage_rejections += 1
            wait = retry_after(left)
            stats.told_to_wait(float(wait))
            return self._refuse(503, "down for scheduled maintenance", {"Retry-After": wait})
        if not self.policy.authorize(Headers(scope=scope)):
            message = "missing or invalid credentials"
            return self._refuse(401, message, dict(self.policy.unauthorized_headers))
        if (injected := faults.injected_error()) is not None:
            stats.errors_injected += 1
            return self._refuse(injected, _ERROR_MESSAGES[injected], {})
        return None

    def _refuse(self, status: int, message: str, headers: dict[str, str]) -> Response:
        return JSONResponse(self.policy.error_body(status, message, []), status, headers=headers)
