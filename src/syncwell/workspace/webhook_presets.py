"""Named senders: each preset is the `hmac` or `header` settings its sender documents.

A preset is data, not code: the same verifier checks Shopify and a hand-configured HMAC, so a
preset can only be as right as the settings below. Each names the page that documents it, and
tests/api/test_presets.py signs a request the way that page says, independently of this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from syncwell.workspace.webhook_auth import HeaderAuth, HmacAuth, PresetAuth, PresetName

__all__ = ["Preset", "expand", "preset"]


@dataclass(frozen=True, slots=True)
class Preset:
    """What a named sender sends.

    Attributes:
        settings: the `hmac` or `header` settings, without the secrets.
        event_id: the body path of the event id when the sender has no id header; None keeps
            syncwell's default (`id`).
        docs: where the sender documents it.
    """

    settings: dict[str, Any]
    event_id: str | None
    docs: str


_PRESETS: dict[str, Preset] = {
    # base64 HMAC-SHA256 of the raw body, keyed by the app's client secret.
    "shopify": Preset(
        {
            "kind": "hmac",
            "header": "X-Shopify-Hmac-Sha256",
            "encoding": "base64",
            "id_header": "X-Shopify-Webhook-Id",
        },
        None,
        "https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-2-validate-the-origin-of-your-webhook-to-ensure-its-coming-from-shopify",
    ),
    # v0=hex HMAC-SHA256 of "v0:<timestamp>:<body>"; requests older than 5 minutes refused.
    "slack": Preset(
        {
            "kind": "hmac",
            "header": "X-Slack-Signature",
            "prefix": "v0=",
            "signed": "v0:{timestamp}:{body}",
            "timestamp_header": "X-Slack-Request-Timestamp",
        },
        "event_id",
        "https://api.slack.com/authentication/verifying-requests-from-slack",
    ),
    # base64(HMACSHA256(TIMESTAMP + BODY)); the timestamp is ISO 8601 (2021-05-28T23:31:34Z).
    "zendesk": Preset(
        {
            "kind": "hmac",
            "header": "X-Zendesk-Webhook-Signature",
            "encoding": "base64",
            "signed": "{timestamp}{body}",
            "timestamp_header": "X-Zendesk-Webhook-Signature-Timestamp",
            "timestamp_unit": "iso8601",
            "id_header": "X-Zendesk-Webhook-Invocation-Id",
        },
        None,
        "https://developer.zendesk.com/documentation/webhooks/verifying/",
    ),
    # hex HMAC-SHA256 of the body; the body's webhookTimestamp (ms) guards against replays.
    "linear": Preset(
        {
            "kind": "hmac",
            "header": "Linear-Signature",
            "timestamp_field": "webhookTimestamp",
            "timestamp_unit": "ms",
            "id_header": "Linear-Delivery",
        },
        None,
        "https://linear.app/developers/webhooks#securing-webhooks",
    ),
    # X-Hub-Signature: sha1=<hex HMAC-SHA1 of the body>, keyed by the app's client_secret.
    "intercom": Preset(
        {"kind": "hmac", "header": "X-Hub-Signature", "algorithm": "sha1", "prefix": "sha1="},
        None,
        "https://developers.intercom.com/docs/references/webhooks/webhook-models#signed-notifications",
    ),
    # base64 HMAC-SHA256 of method + URI + body + timestamp (ms); older than 5 minutes refused.
    "hubspot_v3": Preset(
        {
            "kind": "hmac",
            "header": "X-HubSpot-Signature-v3",
            "encoding": "base64",
            "signed": "{method}{url}{body}{timestamp}",
            "timestamp_header": "X-HubSpot-Request-Timestamp",
            "timestamp_unit": "ms",
        },
        None,
        "https://developers.hubspot.com/docs/api/webhooks/validating-requests",
    ),
    # The secret token, as set on the hook, in X-Gitlab-Token; nothing is signed.
    "gitlab": Preset(
        {"kind": "header", "header": "X-Gitlab-Token", "id_header": "X-Gitlab-Event-UUID"},
        None,
        "https://docs.gitlab.com/user/project/integrations/webhooks/#validate-payloads-by-using-a-secret-token",
    ),
    # X-Ghost-Signature: sha256=<hex HMAC-SHA256 of body + t>, t=<ms>. Ghost sends no event
    # id: its events are deduplicated by their body (a retry sends the same bytes).
    "ghost": Preset(
        {
            "kind": "hmac",
            "header": "X-Ghost-Signature",
            "signature_item": "sha256",
            "timestamp_item": "t",
            "signed": "{body}{timestamp}",
            "timestamp_unit": "ms",
        },
        "@body",
        "https://github.com/TryGhost/Ghost/blob/main/ghost/core/core/server/services/webhooks/webhook-trigger.js",
    ),
    # base64 HMAC-SHA1 of the body followed by the callback URL, keyed by the app secret,
    # over each character's low 8 bits (Trello signs Node.js 'binary' strings, not UTF-8).
    "trello": Preset(
        {
            "kind": "hmac",
            "header": "X-Trello-Webhook",
            "algorithm": "sha1",
            "encoding": "base64",
            "signed": "{body}{url}",
            "text": "binary",
        },
        "action.id",
        "https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/#webhook-signatures",
    ),
}


def preset(name: PresetName) -> Preset:
    """The named sender's settings."""
    return _PRESETS[name]


def expand(auth: PresetAuth) -> HmacAuth | HeaderAuth:
    """The `hmac` or `header` settings a preset stands for, with its secrets and URL."""
    settings = dict(_PRESETS[auth.kind].settings, secrets=auth.secrets)
    if settings["kind"] == "header":
        return HeaderAuth.model_validate(settings)
    return HmacAuth.model_validate(settings | {"url": auth.url})
