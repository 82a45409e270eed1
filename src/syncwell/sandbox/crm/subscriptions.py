"""`/v1/webhooks/subscriptions`: who the CRM tells about its changes."""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Mapping
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from standardwebhooks import Webhook

from syncwell.sandbox.crm.store import CrmStore
from syncwell.sandbox.params import BadRequestError, NotFoundError, read_json_object
from syncwell.sandbox.webhooks import Style, Subscription, WebhookSender

__all__ = ["new_secret", "subscribe", "subscriptions_router"]

_HEADER = re.compile(r"[A-Za-z0-9-]{1,64}")


def new_secret() -> str:
    """A fresh Standard Webhooks secret: `whsec_` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def subscribe(
    store: CrmStore,
    sender: WebhookSender,
    url: str,
    secret: str,
    *,
    options: Mapping[str, object] | None = None,
) -> dict[str, str]:
    """Keep the subscription and start sending to it (the same URL twice updates it).

    `options` may hold `auth` (standard, or header: the secret sent as it is in `header`),
    `shape` (single, bulk or thin) and `types` (per_object, or generic with the table in
    `data.table_name`).

    Raises:
        BadRequestError: for a URL that is not http(s), a secret that cannot sign, or an
            option that is not one of the above.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadRequestError(f"url must be an http or https URL, got {url!r}")
    draft = _draft(url, secret, options or {})
    if draft.auth == "standard":
        if not secret.startswith("whsec_"):
            raise BadRequestError("secret must be a Standard Webhooks secret starting with whsec_")
        try:
            Webhook(secret)
        except Exception as error:  # the library raises assorted types for a bad secret
            raise BadRequestError(f"secret cannot sign webhooks: {error}") from None
    elif not secret:
        raise BadRequestError("secret (the header's token) must not be empty")
    subscription = store.subscribe(draft)
    sender.add(subscription)
    return subscription.as_json()


_CHOICES: dict[str, tuple[str, ...]] = {
    "auth": ("standard", "header"),
    "shape": ("single", "bulk", "thin"),
    "types": ("per_object", "generic"),
}


def _draft(url: str, secret: str, options: Mapping[str, object]) -> Subscription:
    unknown = set(options) - {*_CHOICES, "header"}
    if unknown:
        raise BadRequestError(f"unknown subscription options {sorted(unknown)}")
    chosen: dict[str, str] = {}
    for name, allowed in _CHOICES.items():
        value = options.get(name, allowed[0])
        if value not in allowed:
            raise BadRequestError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        chosen[name] = str(value)
    header = options.get("header", "X-Webhook-Token")
    if not isinstance(header, str) or not _HEADER.fullmatch(header):
        raise BadRequestError(f"header must be a header name, got {header!r}")
    style = Style(shape=chosen["shape"], types=chosen["types"])  # type: ignore[arg-type]
    sub_id = f"sub_{secrets.token_hex(6)}"
    return Subscription(sub_id, url, secret, chosen["auth"], header, style)  # type: ignore[arg-type]


def subscriptions_router(store: CrmStore, sender: WebhookSender) -> APIRouter:
    """Add, list and remove webhook subscriptions."""
    router = APIRouter(prefix="/v1/webhooks/subscriptions", tags=["webhooks"])

    @router.post("", status_code=201)
    async def add(request: Request) -> JSONResponse:
        """Subscribe a URL; without a `secret` one is made and returned.

        Options: `auth` standard|header (with `header`), `shape` single|bulk|thin, `types`
        per_object|generic.
        """
        body = await read_json_object(request)
        url, secret = body.get("url"), body.get("secret", new_secret())
        if not isinstance(url, str) or not isinstance(secret, str):
            raise BadRequestError("the body needs a `url` string and may have a `secret` string")
        options = {k: v for k, v in body.items() if k not in ("url", "secret")}
        return JSONResponse(subscribe(store, sender, url, secret, options=options), 201)

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
