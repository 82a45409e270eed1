"""`/hooks/{system}`: verify, translate, journal, then answer (DESIGN.md, lessons).

The order is the point. The request is authenticated over the raw bytes before anything is
parsed; a body over the limit is refused while it is still arriving; the event is journaled and
committed before the 2xx. Every refusal is a 4xx with the reason; a store that can't commit is
a 503 with Retry-After, so the sender tries again and nothing it sent is lost.

A secret in the path (`/hooks/{system}/{secret}`) is compared and forgotten: it is never
logged, and no answer repeats it.
"""

from __future__ import annotations

import asyncio
import json
import time

import structlog
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from syncwell.api.handshakes import answer_challenge, answer_echo, answer_query
from syncwell.api.webhook_auth import Authenticator, Sent, WebhookRefused
from syncwell.engine import Engine
from syncwell.engine.webhooks import EventRefusedError
from syncwell.errors import StoreError
from syncwell.store import InboundEvent

__all__ = ["HookEndpoint"]

log = structlog.get_logger("syncwell.api.hooks")


class HookEndpoint:
    """The webhook ingress of one engine: `respond` answers a request for a system."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._intakes = engine.webhooks.intakes
        self._auth = {name: Authenticator(intake) for name, intake in self._intakes.items()}

    async def respond(
        self, request: Request, system: str, path_secret: str | None = None
    ) -> Response:
        """Answer one webhook request for `system` (POST, or a handshake's GET or HEAD)."""
        intake = self._intakes.get(system)
        if intake is None:
            return _refuse(
                404,
                f"system '{system}' takes no webhooks; add `webhooks:` to "
                f"systems.{system} in syncwell.yaml",
            )
        authenticator = self._auth[system]
        try:
            # A handshake is answered only at the system's right URL (path secret included).
            authenticator.check_url(path_secret)
        except WebhookRefused as refused:
            return _refuse(refused.status, refused.reason)
        if request.method in ("GET", "HEAD"):
            return answer_query(intake.handshake, request)
        echoed = answer_echo(intake.handshake, request)
        if echoed is not None:
            log.info("webhook handshake answered", system=system, kind="echo_header")
            return echoed
        try:
            body = await _read_body(request, intake.max_body_bytes)
            sent = Sent.of(request.method, request.headers, body, path_secret)
            verified = authenticator.check(sent, time.time())
        except WebhookRefused as refused:
            log.info("webhook refused", system=system, status=refused.status, reason=refused.reason)
            return _refuse(refused.status, refused.reason)
        except ClientDisconnect:
            return Response(status_code=400)
        return await self._take(system, body, verified.event_id, verified.timestamp)

    async def _take(
        self, system: str, body: bytes, event_id: str | None, signed_at: float | None
    ) -> Response:
        try:
            document = json.loads(body, parse_constant=_no_constant)
            if b"\\u" in body:
                # An escape may be a lone surrogate: text that could never be stored.
                json.dumps(document, ensure_ascii=False).encode()
        except (ValueError, UnicodeError, RecursionError) as error:
            return _refuse(400, f"the body is not JSON syncwell can keep: {error}")
        challenge = answer_challenge(self._intakes[system], document)
        if challenge is not None:
            return challenge
        if isinstance(document, list):
            return await self._take_batch(system, document, signed_at or time.time())
        try:
            event = self._engine.webhooks.event(
                system, event_id, signed_at or time.time(), document, body
            )
        except EventRefusedError as refused:
            log.info("webhook event refused", system=system, reason=refused.reason)
            return _refuse(refused.status, refused.reason)
        if not event.changes and not event.rereads:
            return JSONResponse({"status": "ignored", "id": event.event_id}, status_code=202)
        return await self._journal(system, event)

    async def _take_batch(self, system: str, items: list[object], at: float) -> Response:
        """A JSON array of events (HubSpot sends up to 100 at once), each with its own id.

        Each item is read on its own. Those that can be read are journaled; those that
        cannot are named in the answer (`refused`, by index, with the reason) and logged,
        and only when none can be read is the request refused. Refusing the whole array for
        one bad item would lose the others: senders like HubSpot do not retry a 4xx.
        If the store fails part way, the sender's retry finds what landed already taken.
        """
        events: list[InboundEvent] = []
        refused: list[dict[str, object]] = []
        for index, item in enumerate(items):
            # Each item's own bytes stand for it where its id is the body's SHA-256.
            raw = json.dumps(item, sort_keys=True, separators=(",", ":")).encode()
            try:
                events.append(self._engine.webhooks.event(system, None, at, item, raw))
            except EventRefusedError as error:
                log.warning(
                    "webhook event refused", system=system, index=index, reason=error.reason
                )
                refused.append({"index": index, "status": error.status, "reason": error.reason})
        if not events:
            first = refused[0] if refused else {"status": 400, "reason": "an empty batch"}
            return _refuse(
                int(str(first["status"])), f"event [{first.get('index', 0)}]: {first['reason']}"
            )
        taken = [event for event in events if event.changes or event.rereads]
        counts: dict[str, object] = {"events": len(items), "refused": refused}
        if not taken:
            return JSONResponse({"status": "ignored", **counts}, status_code=202)
        # Submitted together, so the committer writes them in one transaction.
        answers = await asyncio.gather(*(self._journal(system, event) for event in taken))
        failed = next((answer for answer in answers if answer.status_code != 200), None)
        if failed is not None:
            return failed
        return JSONResponse(
            {
                "status": "accepted",
                **counts,
                "ignored": len(events) - len(taken),
                "changes": sum(len(event.changes) for event in taken),
            }
        )

    async def _journal(self, system: str, event: InboundEvent) -> Response:
        committer = self._engine.committer
        if committer is None:
            return _refuse(503, "syncwell is starting; try again shortly", retry_after=1)
        try:
            new = await committer.submit(event)
        except StoreError as error:
            log.warning("webhook not journaled", system=system, error=str(error))
            return _refuse(503, "the state store is unavailable; try again", retry_after=5)
        except EventRefusedError as refused:
            return _refuse(refused.status, refused.reason)
        answer: dict[str, object] = {
            "status": "accepted" if new else "duplicate",
            "id": event.event_id,
            "changes": len(event.changes),
        }
        if event.rereads:
            answer["rereads"] = len(event.rereads)
        return JSONResponse(answer)


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused as soon as it passes `limit` bytes (never buffered past it)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise WebhookRefused(413, f"body is {declared} bytes; the limit is {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise WebhookRefused(413, f"body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number (RFC 8259); send a number or null")


def _refuse(status: int, reason: str, *, retry_after: int | None = None) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return JSONResponse({"error": reason}, status_code=status, headers=headers)
