"""Announcing incidents: a signed POST to the workspace's alert webhook when one opens or closes.

Best effort by design: an alert that can't be delivered after a few tries is logged and
dropped, never allowed to slow the engine (the incident itself is in the store either way).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid

import httpx
import structlog
from standardwebhooks import Webhook

__all__ = ["AlertSender"]

log = structlog.get_logger("syncwell.alerts")

_ATTEMPTS = 3


class AlertSender:
    """Signs and sends alerts in the background.

    Args:
        url: where to POST.
        secret: the Standard Webhooks secret (whsec_...).
        timeout_s: per attempt.
    """

    def __init__(self, url: str, secret: str, timeout_s: float = 10.0) -> None:
        self._url = url
        self._signer = Webhook(secret)
        self._client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)
        self._sending: set[asyncio.Task[None]] = set()

    def announce(self, kind: str, data: dict[str, object], topic: str = "incident") -> None:
        """Send `<topic>.<kind>` (incident.opened, incident.closed, constraint.moved) without
        waiting for it."""
        body = json.dumps(
            {"type": f"{topic}.{kind}", "timestamp": _now().isoformat(), "data": data},
            default=str,
        )
        task = asyncio.create_task(self._send(f"alert_{uuid.uuid4().hex}", body))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, alert_id: str, body: str) -> None:
        for attempt in range(_ATTEMPTS):
            sent_at = _now()  # a new timestamp (and signature) per attempt, the same id
            headers = {
                "content-type": "application/json",
                "webhook-id": alert_id,
                "webhook-timestamp": str(int(sent_at.timestamp())),
                "webhook-signature": self._signer.sign(alert_id, sent_at, body),
            }
            try:
                answer = await self._client.post(self._url, content=body, headers=headers)
                if answer.is_success:
                    return
                log.warning("alert refused", url=self._url, status=answer.status_code)
            except httpx.HTTPError as error:
                log.warning("alert not delivered", url=self._url, error=str(error))
            await asyncio.sleep(2**attempt)
        log.error("alert dropped after retries", url=self._url, id=alert_id)

    async def aclose(self) -> None:
        """Let alerts in flight finish (briefly), then close the connection pool."""
        if self._sending:
            await asyncio.wait(self._sending, timeout=5)
        await self._client.aclose()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
