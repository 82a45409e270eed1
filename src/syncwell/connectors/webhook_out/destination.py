"""Writing changes as signed webhooks: one POST per change, several in flight at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
from standardwebhooks import Webhook

from syncwell.connectors.webhook_out.addresses import AddressGuard
from syncwell.connectors.webhook_out.events import Event, events_of
from syncwell.connectors.webhook_out.responses import GONE, classify
from syncwell.connectors.webhook_out.settings import Settings
from syncwell.errors import (
    ConnectorError,
    IntegrationFatalError,
    RecordRejectedError,
    TimedOutError,
    TransientError,
)
from syncwell.types import ChangeBatch, Clock, RequestBudget, StreamSpec

__all__ = ["WebhookDestination"]

_REMEMBERED = 100_000
"""Ids of recently delivered events kept, so a batch tried again skips what already went.

As many as the largest batch (`batch_size` is at most 100,000): when the engine splits a batch
around a refused event, or retries it after a 5xx, only the events not yet delivered go again.
"""
_EXCERPT_CHARS = 200
_READ_LIMIT = 64 * 1024  # bytes of an answer read: enough to reuse the connection, no more


class WebhookDestination:
    """The `Destination` of a ``kind: webhook_out`` system.

    After a 410 Gone the destination is disabled: every later write raises the same
    `IntegrationFatalError` without sending, until the process starts again.
    """

    paces_itself = True
    """Spends the system's request budget per request, not per write (see the delivery)."""

    def __init__(
        self,
        name: str,
        settings: Settings,
        *,
        client: httpx.AsyncClient,
        guard: AddressGuard,
        clock: Clock,
        budget: RequestBudget | None = None,
    ) -> None:
        self._name = name
        self._settings = settings
        self._client = client
        self._guard = guard
        self._clock = clock
        self._budget = budget
        self._signer = Webhook(settings.secret.get_secret_value())
        self._headers = {name: value.get_secret_value() for name, value in settings.headers.items()}
        self._delivered: OrderedDict[str, None] = OrderedDict()
        self._gone: str | None = None

    async def aclose(self) -> None:
        await self._client.aclose()

    async def write(self, stream: StreamSpec, batch: ChangeBatch) -> None:
        self._raise_if_gone()
        await self._guard.check()
        settings = self._settings
        events = events_of(
            stream, batch, upsert_type=settings.upsert_type, delete_type=settings.delete_type
        )
        pending = [event for event in events if event.id not in self._delivered]
        waiting = iter(pending)  # shared by the senders: each event is taken once
        failures: list[ConnectorError] = []
        async with asyncio.TaskGroup() as group:
            for _ in range(min(settings.max_in_flight, len(pending))):
                group.create_task(self._send_each(waiting, failures))
        if failures:
            raise _worst(failures)

    async def _send_each(self, waiting: Iterator[Event], failures: list[ConnectorError]) -> None:
        """Send events from the shared iterator until it runs dry or sending is pointless."""
        for event in waiting:
            # A refused event says nothing about the others; anything else fails the write, so
            # the rest would only be sent again on the retry.
            if any(not isinstance(failure, RecordRejectedError) for failure in failures):
                return
            error = await self._send(event)
            if error is None:
                self._remember(event.id)
            else:
                failures.append(error)

    async def _send(self, event: Event) -> ConnectorError | None:
        """One attempt at one event: freshly timestamped and signed, with the event's own id."""
        if self._gone is not None:
            return self._gone_error()
        if self._budget is not None:
            await self._budget.acquire()
        seconds = int(self._clock.wall())
        signature = self._signer.sign(event.id, datetime.fromtimestamp(seconds, UTC), event.body)
        headers = {
            **self._headers,
            "content-type": "application/json",
            "webhook-id": event.id,
            "webhook-timestamp": str(seconds),
            "webhook-signature": signature,
        }
        url = self._settings.url
        try:
            with self._translated():
                async with self._client.stream(
                    "POST", url, content=event.body.encode(), headers=headers
                ) as response:
                    answer = await _read_some(response)
        except ConnectorError as failure:
            return failure
        excerpt = answer.decode("utf-8", "replace")[:_EXCERPT_CHARS].strip()
        error = classify(
            response.status_code,
            excerpt=excerpt,
            retry_after_header=response.headers.get("retry-after"),
            now=self._clock.wall(),
            system=self._name,
            key=event.key,
            location=response.headers.get("location"),
        )
        if response.status_code == GONE and isinstance(error, IntegrationFatalError):
            self._gone = error.message
        return error

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        """httpx's errors as the engine's: network trouble is transient, the rest is ours."""
        url, timeout = self._settings.url, self._settings.timeout_s
        try:
            yield
        except httpx.TimeoutException as error:
            raise TimedOutError(
                f"POST {url} got no answer within {timeout:g} s ({type(error).__name__})",
                system=self._name,
            ) from error
        except httpx.TransportError as error:
            raise TransientError(
                f"POST {url} failed: {type(error).__name__}: {error}", system=self._name
            ) from error
        except httpx.HTTPError as error:
            raise IntegrationFatalError(
                f"POST {url} failed: {type(error).__name__}: {error}", system=self._name
            ) from error

    def _remember(self, event_id: str) -> None:
        self._delivered[event_id] = None
        if len(self._delivered) > _REMEMBERED:
            self._delivered.popitem(last=False)

    def _raise_if_gone(self) -> None:
        if self._gone is not None:
            raise self._gone_error()

    def _gone_error(self) -> IntegrationFatalError:
        return IntegrationFatalError(self._gone or "", system=self._name)


def _worst(failures: list[ConnectorError]) -> ConnectorError:
    """The failure that decides the write: fatal, then transient (longest wait), then refused.

    A refused event is only raised once nothing else failed, so the engine retries the write
    first; its split then isolates the refused event alone.
    """
    for failure in failures:
        if isinstance(failure, IntegrationFatalError):
            return failure
    transient = [failure for failure in failures if isinstance(failure, TransientError)]
    if transient:
        return max(transient, key=lambda failure: failure.retry_after or 0.0)
    return failures[0]


async def _read_some(response: httpx.Response) -> bytes:
    """The start of an answer's body; a receiver may answer with much more than we need."""
    chunks = bytearray()
    async for chunk in response.aiter_bytes():
        chunks += chunk
        if len(chunks) >= _READ_LIMIT:
            break
    return bytes(chunks)
