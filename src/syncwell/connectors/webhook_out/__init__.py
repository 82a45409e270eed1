"""The ``webhook_out`` connector: each change sent to an HTTP endpoint as a signed webhook.

A destination only. Requests follow Standard Webhooks (https://www.standardwebhooks.com): a JSON
body ``{"type", "timestamp", "data"}`` and the headers ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature``, signed with the system's ``whsec_`` secret. How the receiver verifies
them, and what each answer means, is in docs/connectors/webhook_out.md.
"""

from __future__ import annotations

from typing import NoReturn

import httpx

from syncwell.connectors.webhook_out.addresses import AddressGuard
from syncwell.connectors.webhook_out.destination import WebhookDestination
from syncwell.connectors.webhook_out.settings import Settings
from syncwell.errors import IntegrationFatalError
from syncwell.types import Clock, RequestBudget, SystemClock

__all__ = ["Settings", "WebhookDestination", "open_destination", "open_source"]


async def open_destination(
    name: str,
    settings: Settings,
    *,
    budget: RequestBudget | None = None,
    clock: Clock | None = None,
) -> WebhookDestination:
    """Open the system `name` for writing, once its URL is known not to lead somewhere private.

    Args:
        name: the system's name.
        settings: its settings.
        budget: the system's request budget; one request is taken per change sent.
        clock: where signing times come from (tests pass a fake one). Default: the real clock.

    Raises:
        IntegrationFatalError: the URL's host resolves to a non-public address and
            ``allow_private_networks`` is false. A host that does not resolve yet is let
            through: the first write resolves it again.
    """
    clock = clock or SystemClock()
    guard = AddressGuard(name, settings.url, allowed=settings.allow_private_networks, clock=clock)
    await guard.check(unresolved_ok=True)
    client = httpx.AsyncClient(
        timeout=settings.timeout_s,
        # A redirect could lead past the address check into a private network.
        follow_redirects=False,
        headers={"user-agent": "syncwell-webhooks"},
    )
    return WebhookDestination(
        name, settings, client=client, guard=guard, clock=clock, budget=budget
    )


async def open_source(
    name: str, settings: Settings, *, budget: RequestBudget | None = None
) -> NoReturn:
    """Refuse: webhooks only go out, so a ``webhook_out`` system cannot be a flow's source."""
    raise IntegrationFatalError(
        "a webhook_out system only sends; make it a flow's destination, not its source",
        system=name,
    )
