"""The HubSpot-like CRM, assembled: its file, its webhooks, its routes behind the gate."""

from __future__ import annotations

import hmac
import uuid

from starlette.datastructures import Headers

from syncwell.sandbox.config import SandboxConfig
from syncwell.sandbox.crm.kinds import COMPANIES, CONTACTS
from syncwell.sandbox.crm.routes import objects_router
from syncwell.sandbox.crm.simulate import simulation_router
from syncwell.sandbox.crm.store import SCHEMA, CrmStore
from syncwell.sandbox.crm.subscriptions import subscribe, subscriptions_router
from syncwell.sandbox.database import open_database
from syncwell.sandbox.gate import GatePolicy
from syncwell.sandbox.service import new_service
from syncwell.sandbox.stamps import VersionClock
from syncwell.sandbox.tool import Tool, ToolRuntime
from syncwell.sandbox.webhooks import WebhookSender

__all__ = ["create_crm"]

_CATEGORIES = {
    400: "VALIDATION_ERROR",
    401: "INVALID_AUTHENTICATION",
    404: "OBJECT_NOT_FOUND",
    429: "RATE_LIMITS",
    503: "SERVICE_UNAVAILABLE",
}


def error_body(status: int, message: str, errors: list[dict[str, object]]) -> dict[str, object]:
    """An error in HubSpot's words."""
    body: dict[str, object] = {
        "status": "error",
        "message": message,
        "category": _CATEGORIES.get(status, "INTERNAL_ERROR"),
        "correlationId": str(uuid.uuid4()),
    }
    if errors:
        body["errors"] = errors
    return body


def create_crm(config: SandboxConfig) -> Tool:
    """Open (and on first use seed) the CRM's file and build its app.

    Call it inside the event loop that will serve the app: the webhook sender starts a task
    per subscriber.
    """
    settings = config.crm
    runtime = ToolRuntime("crm", settings.faults, config.seed)
    connection, fresh = open_database(config.data_dir, "crm", SCHEMA)
    store = CrmStore(connection, VersionClock("z"))
    if fresh:
        store.fill(config.seed, companies=settings.companies, contacts=settings.contacts)
    sender = WebhookSender(
        runtime,
        attempts=settings.webhook_attempts,
        backoff_s=settings.webhook_backoff_s,
        timeout_s=settings.webhook_timeout_s,
    )
    for configured in settings.webhooks:
        subscribe(store, sender, configured.url, configured.secret, options=configured.options())
    configured_urls = {configured.url for configured in settings.webhooks}
    for kept in store.subscriptions():
        if kept.url not in configured_urls:
            sender.add(kept)
    expected = f"Bearer {settings.token}".encode()

    def authorize(headers: Headers) -> bool:
        return hmac.compare_digest(headers.get("authorization", "").encode(), expected)

    def records() -> dict[str, int]:
        return {"contacts": store.count(CONTACTS), "companies": store.count(COMPANIES)}

    policy = GatePolicy(authorize=authorize, error_body=error_body, rate_limit_headers=True)
    app = new_service("syncwell sandbox CRM", runtime, policy, records, lambda: sender.pending)
    # Subscriptions first: `/v1/webhooks/subscriptions` would also match `/v1/{type}/{key}`.
    app.include_router(subscriptions_router(store, sender))
    app.include_router(objects_router(store, runtime, sender))
    app.include_router(simulation_router(store, runtime, sender))

    async def close() -> None:
        await sender.close()
        connection.close()

    return Tool("crm", app, runtime, records, close)
