"""`/v1/webhooks/subscriptions`: who the CRM tells about its changes."""

from __future__ import annotations

import base64
import secrets
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from standardwebhooks import Webhook

from syncwell.sandbox.crm.store import CrmStore
from syncwell.sandbox.params import BadRequestError, NotFoundError, read_json_object
from syncwell.sandbox.webhooks import WebhookSender

__all__ = ["new_secret", "subscribe", "subscriptions_router"]


def new_secret() -> str:
    """A fresh Standard Webhooks secret: `whsec_` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def subscribe(store: CrmStore, sender: WebhookSender, url: str, secret: str) -> dict[str, str]:
    """Keep the subscription and start sending to it (the same URL twice updates the secret).

    Raises:
        BadRequestError: for a URL that is not http(s) or a secret that cannot sign.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadRequestError(f"url must be an http or https URL, got {url!r}")
    if not secret.startswith("whsec_"):
        raise BadRequestError("secret must be a Standard Webhooks secret starting with whsec_")
    try:
        Webhook(secret)
    except Exception as error:  # the library raises assorted types for a bad secret
        raise BadRequestError(f"secret cannot sign webhooks: {error}") from None
    subscription = store.subscribe(url, secret, f"sub_{secrets.token_hex(6)}")
    sender.add(subscription)
    return subscription.as_json()


def subscriptions_router(store: CrmStore, sender: WebhookSender) -> APIRouter:
    """Add, list and remove webhook subscriptions."""
    router = APIRouter(prefix="/v1/webhooks/subscriptions", tags=["webhooks"])

    @router.post("", status_code=201)
    async def add(request: Request) -> JSONResponse:
        """Subscribe a URL; without a `secret` one is made and returned."""
        body = await read_json_object(request)
        url, secret = body.get("url"), body.get("secret", new_secret())
        if not isinstance(url, str) or not isinstance(secret, str):
            raise BadRequestError("the body needs a `url` string and may have a `secret` string")
        return JSONResponse(subscribe(store, sender, url, secret), 201)

    @router.get("")
    async def list_all() -> JSONResponse:
        """Every subscription, secrets included (this is a sandbox)."""
        return JSONResponse({"results": [sub.as_json() for sub in store.subscriptions()]})

    @router.delete("/{subscription_id}", status_code=204)
    async def remove(subscription_id: str) -> Response:
        """Stop sending to a subscriber."""
        if not store.unsubscribe(subscription_id):
            raise NotFoundError(f"no subscription {subscription_id!r}")
        sender.remove(subscription_id)
        return Response(status_code=204)

    return router
