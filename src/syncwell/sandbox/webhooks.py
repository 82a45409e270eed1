"""Outbound webhooks: signed with Standard Webhooks, queued, retried, and faulted on request.

Each subscriber has its own queue drained by its own task, in order, so a slow or dead
subscriber never holds up the API or the other subscribers. A failed send is retried from a
separate task after a backoff (with a fresh timestamp and signature, the same event id), so it
also does not hold up the events behind it; that is how real senders come to reorder.
The queues live in memory: events not yet sent when the sandbox stops are lost, as with a real
sender that gave up, which is what periodic reconciliation is for.

Each subscription chooses the shape of its events (one per record, bulk rows, or ids only;
sandbox/webhook_styles.py) and how they are authenticated: Standard Webhooks signatures, or a
static token in a header, as senders that cannot sign do.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

import httpx
from standardwebhooks import Webhook

from syncwell.sandbox.tool import ToolRuntime
from syncwell.sandbox.webhook_styles import ChangeSet, Event, Style, make_event, render

__all__ = ["ChangeSet", "Event", "Style", "Subscription", "WebhookSender", "make_event"]

_POLL_S = 0.01

Auth = Literal["standard", "header"]


@dataclass(frozen=True)
class Subscription:
    """One subscriber: where to post, its secret, how it is sent, and its events' shape.

    With `auth` standard the secret is a `whsec_` key that signs each request; with header
    it is a token sent as it is in `header`, for receivers of senders that cannot sign.
    """

    id: str
    url: str
    secret: str
    auth: Auth = "standard"
    header: str = "X-Webhook-Token"
    style: Style = field(default_factory=Style)

    def as_json(self) -> dict[str, str]:
        return {
            "id": self.id,
            "url": self.url,
            "secret": self.secret,
            "auth": self.auth,
            "header": self.header,
            "shape": self.style.shape,
            "types": self.style.types,
        }


class _Lane:
    """One subscriber's queue and the task draining it."""

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        standard = subscription.auth == "standard"
        self.signer = Webhook(subscription.secret) if standard else None
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        self.in_hand = 0
        self.task: asyncio.Task[None] | None = None


class WebhookSender:
    """Sends every published event to every subscriber.

    Args:
        runtime: the tool's faults (duplicates, reordering) and counters.
        attempts: tries per event and subscriber before giving it up.
        backoff_s: wait before the second try; doubles for each try after.
        timeout_s: how long one try may take.
    """

    def __init__(
        self, runtime: ToolRuntime, *, attempts: int, backoff_s: float, timeout_s: float
    ) -> None:
        self._runtime = runtime
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)
        self._lanes: dict[str, _Lane] = {}
        self._retries: set[asyncio.Task[None]] = set()
        # Retries wait their turn: thousands of them at once against a subscriber that is down
        # would starve the tool's own API, which a real CRM's never is.
        self._retry_slots = asyncio.Semaphore(8)

    def add(self, subscription: Subscription) -> None:
        """Start sending to `subscription` (replacing one with the same id).

        Raises:
            ValueError: when the secret is not a usable Standard Webhooks secret.
        """
        try:
            lane = _Lane(subscription)
        except Exception as error:  # the library raises bare exceptions for bad base64
            raise ValueError(f"invalid webhook secret: {error}") from error
        self.remove(subscription.id)
        lane.task = asyncio.get_running_loop().create_task(self._drain(lane))
        self._lanes[subscription.id] = lane

    def remove(self, subscription_id: str) -> None:
        """Stop sending to a subscriber; its queued events are dropped."""
        lane = self._lanes.pop(subscription_id, None)
        if lane is not None and lane.task is not None:
            lane.task.cancel()

    def publish(self, changes: ChangeSet) -> None:
        """Queue the events of `changes` for every subscriber, in its style; never waits."""
        for lane in self._lanes.values():
            for event in render(lane.subscription.style, changes):
                lane.queue.put_nowait(event)

    @property
    def pending(self) -> int:
        """Events queued, being sent, or waiting for a retry."""
        queued = sum(lane.queue.qsize() + lane.in_hand for lane in self._lanes.values())
        return queued + len(self._retries)

    async def close(self) -> None:
        """Stop every task and close the HTTP client."""
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        tasks += list(self._retries)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._lanes.clear()
        await self._client.aclose()

    async def _drain(self, lane: _Lane) -> None:
        while True:
            group = [await lane.queue.get()]
            lane.in_hand = 1
            settings = self._runtime.faults.settings
            if settings.reorder_webhooks:
                group += await self._hold(
                    lane, settings.reorder_window - 1, settings.reorder_hold_s
                )
                self._runtime.rng.shuffle(group)
            for event in group:
                await self._attempt(lane, event, 1)
                lane.in_hand -= 1
                if not event.duplicate and self._runtime.faults.duplicate():
                    self._runtime.stats.webhooks_duplicated += 1
                    lane.queue.put_nowait(replace(event, duplicate=True))

    async def _hold(self, lane: _Lane, more: int, hold_s: float) -> list[Event]:
        """Up to `more` further events, waiting at most `hold_s` for them to arrive."""
        # Polling get_nowait, unlike wait_for(queue.get()), can never lose an event to a
        # timeout that fires just as the event arrives.
        held: list[Event] = []
        deadline = asyncio.get_running_loop().time() + hold_s
        while len(held) < more and asyncio.get_running_loop().time() < deadline:
            try:
                held.append(lane.queue.get_nowait())
                lane.in_hand += 1
            except asyncio.QueueEmpty:
                await asyncio.sleep(_POLL_S)
        return held

    async def _attempt(self, lane: _Lane, event: Event, attempt: int) -> None:
        stats = self._runtime.stats
        if await self._post(lane, event):
            stats.webhooks_sent += 1
            return
        stats.webhooks_failed += 1
        if attempt >= self._attempts:
            stats.webhooks_given_up += 1
            return
        delay = self._backoff_s * 2 ** (attempt - 1)
        retry = asyncio.get_running_loop().create_task(self._retry(lane, event, attempt + 1, delay))
        self._retries.add(retry)
        retry.add_done_callback(self._retries.discard)

    async def _retry(self, lane: _Lane, event: Event, attempt: int, delay: float) -> None:
        await asyncio.sleep(delay)
        async with self._retry_slots:
            await self._attempt(lane, event, attempt)

    async def _post(self, lane: _Lane, event: Event) -> bool:
        """One signed try; a new timestamp (and so signature) each time, the same id."""
        now = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "user-agent": f"syncwell-sandbox-{self._runtime.name}",
        }
        if lane.signer is not None:
            headers["webhook-id"] = event.id
            headers["webhook-timestamp"] = str(int(now.timestamp()))
            headers["webhook-signature"] = lane.signer.sign(event.id, now, event.body)
        else:
            headers[lane.subscription.header] = lane.subscription.secret
        try:
            response = await self._client.post(
                lane.subscription.url, content=event.body.encode(), headers=headers
            )
        except httpx.HTTPError:
            return False
        return response.is_success
