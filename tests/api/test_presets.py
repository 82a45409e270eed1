"""Named senders: a request signed the way each sender documents it passes, and the same
request altered (body, signature, secret or time) is refused with a 401.

Every signature here is computed in the test from the sender's documented algorithm (the page
is named beside each), with `hmac` and `hashlib` directly: none of it comes from syncwell's
presets, so a preset that misreads its sender fails here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from syncwell.api.webhook_auth import Authenticator, Sent, WebhookRefused
from syncwell.workspace.webhooks import WebhookIntake

NOW = 1_767_000_000.0
SECRET = "preset-test-secret-0123456789"
BODY = b'{"id":"evt_1","type":"contact.updated","data":{"email":"ada@example.com"}}'
URL = "https://sync.example.com/hooks/crm"


@dataclass(frozen=True)
class Signed:
    """A request as the sender sends it: its method, headers and body."""

    headers: dict[str, str]
    body: bytes = BODY
    method: str = "POST"


def _hmac(algorithm: str, message: bytes, secret: str = SECRET) -> bytes:
    return hmac.new(secret.encode(), message, getattr(hashlib, algorithm)).digest()


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def shopify(body: bytes, secret: str, at: float) -> Signed:
    # shopify.dev "Validate the origin of your webhook": base64 HMAC-SHA256 of the raw body.
    return Signed({"X-Shopify-Hmac-Sha256": _b64(_hmac("sha256", body, secret))}, body)


def slack(body: bytes, secret: str, at: float) -> Signed:
    # api.slack.com/authentication/verifying-requests-from-slack: v0:timestamp:body, hex.
    stamp = str(int(at))
    digest = _hmac("sha256", b"v0:" + stamp.encode() + b":" + body, secret).hex()
    return Signed({"X-Slack-Signature": f"v0={digest}", "X-Slack-Request-Timestamp": stamp}, body)


def zendesk(body: bytes, secret: str, at: float) -> Signed:
    # developer.zendesk.com/documentation/webhooks/verifying: base64(HMACSHA256(TIMESTAMP+BODY)).
    stamp = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = _b64(_hmac("sha256", stamp.encode() + body, secret))
    return Signed(
        {
            "X-Zendesk-Webhook-Signature": digest,
            "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        },
        body,
    )


def linear(body: bytes, secret: str, at: float) -> Signed:
    # linear.app/developers/webhooks: hex HMAC-SHA256 of the body; webhookTimestamp (ms) in it.
    document = json.loads(body) | {"webhookTimestamp": int(at * 1000)}
    stamped = json.dumps(document).encode()
    return Signed({"Linear-Signature": _hmac("sha256", stamped, secret).hex()}, stamped)


def intercom(body: bytes, secret: str, at: float) -> Signed:
    # developers.intercom.com, signed notifications: X-Hub-Signature sha1=<hex> of the body.
    return Signed({"X-Hub-Signature": "sha1=" + _hmac("sha1", body, secret).hex()}, body)


def hubspot_v3(body: bytes, secret: str, at: float) -> Signed:
    # developers.hubspot.com validating requests, v3: base64 HMAC-SHA256 of
    # method + URI + body + timestamp (milliseconds), older than 5 minutes refused.
    stamp = str(int(at * 1000))
    message = b"POST" + URL.encode() + body + stamp.encode()
    return Signed(
        {
            "X-HubSpot-Signature-v3": _b64(_hmac("sha256", message, secret)),
            "X-HubSpot-Request-Timestamp": stamp,
        },
        body,
    )


def gitlab(body: bytes, secret: str, at: float) -> Signed:
    # docs.gitlab.com webhooks: the secret token itself in X-Gitlab-Token.
    return Signed({"X-Gitlab-Token": secret, "X-Gitlab-Event-UUID": "uuid-1"}, body)


def ghost(body: bytes, secret: str, at: float) -> Signed:
    # Ghost's webhook-trigger.js: `sha256=${hmac(body + ts)}, t=${ts}` with ts = Date.now().
    stamp = str(int(at * 1000))
    digest = _hmac("sha256", body + stamp.encode(), secret).hex()
    return Signed({"X-Ghost-Signature": f"sha256={digest}, t={stamp}"}, body)


def trello(body: bytes, secret: str, at: float) -> Signed:
    # developer.atlassian.com Trello webhooks: base64 HMAC-SHA1 of body + callbackURL, signed
    # as Node.js binary strings: each character's 8 least significant bits (an en dash,
    # U+2013, is the byte 19).
    text = (body + URL.encode()).decode()
    signed = bytes(ord(character) % 256 for character in text)
    return Signed({"X-Trello-Webhook": _b64(_hmac("sha1", signed, secret))}, body)


SIGNERS: dict[str, Callable[[bytes, str, float], Signed]] = {
    "shopify": shopify,
    "slack": slack,
    "zendesk": zendesk,
    "linear": linear,
    "intercom": intercom,
    "hubspot_v3": hubspot_v3,
    "gitlab": gitlab,
    "ghost": ghost,
    "trello": trello,
}
TIMED = {"slack", "zendesk", "linear", "hubspot_v3", "ghost"}


def _authenticator(name: str) -> Authenticator:
    auth: dict[str, object] = {"kind": name, "secret": SECRET}
    if name in ("hubspot_v3", "trello"):
        auth["url"] = URL
    intake = WebhookIntake.model_validate({"auth": auth, "streams": {"*": "contacts"}})
    return Authenticator(intake)


def _check(name: str, signed: Signed, now: float = NOW) -> None:
    sent = Sent.of(signed.method, signed.headers, signed.body)
    _authenticator(name).check(sent, now)


def _refused(name: str, signed: Signed, now: float = NOW) -> WebhookRefused:
    with pytest.raises(WebhookRefused) as caught:
        _check(name, signed, now)
    return caught.value


@pytest.mark.parametrize("name", SIGNERS)
def test_a_request_signed_as_the_sender_documents_passes(name: str) -> None:
    """The sender's documented algorithm, computed here, is what the preset accepts."""
    _check(name, SIGNERS[name](BODY, SECRET, NOW))


@pytest.mark.parametrize("name", SIGNERS)
def test_a_forged_or_altered_request_is_refused_with_401(name: str) -> None:
    """Another secret, or the body changed after signing: 401, whatever the sender."""
    forged = SIGNERS[name](BODY, "an-attacker-guess-0123456789", NOW)
    assert _refused(name, forged).status == 401
    genuine = SIGNERS[name](BODY, SECRET, NOW)
    if name == "gitlab":
        return  # a token signs nothing: its body can change; only the token is checked
    altered = Signed(genuine.headers, genuine.body.replace(b"ada@", b"eve@"))
    assert _refused(name, altered).status == 401


@pytest.mark.parametrize("name", sorted(TIMED))
def test_a_replayed_request_is_refused_with_401(name: str) -> None:
    """A request signed an hour ago (a replay) is refused, though its signature is genuine."""
    old = SIGNERS[name](BODY, SECRET, NOW - 3600)
    refusal = _refused(name, old)
    assert refusal.status == 401 and "old" in refusal.reason


def test_trello_signs_text_outside_ascii_as_binary_strings() -> None:
    """A card named "Café \u2013 plan" (an é and an en dash): Trello's signature over the low
    8 bits of each character passes; one over the UTF-8 bytes (not what Trello sends) is
    refused."""
    body = '{"action": {"id": "a1", "data": {"card": {"name": "Café \u2013 plan"}}}}'.encode()
    _check("trello", trello(body, SECRET, NOW))
    over_utf8 = _b64(_hmac("sha1", body + URL.encode(), SECRET))
    assert _refused("trello", Signed({"X-Trello-Webhook": over_utf8}, body)).status == 401


def test_a_missing_signature_header_is_a_401_that_names_it() -> None:
    """No signature at all: 401, and the reason names the header the preset expects."""
    refusal = _refused("shopify", Signed({}))
    assert refusal.status == 401 and "x-shopify-hmac-sha256" in refusal.reason.lower()


def test_preset_event_ids_come_from_the_senders_headers() -> None:
    """GitLab's X-Gitlab-Event-UUID is the event id (deduplicated on it)."""
    sent = Sent.of("POST", gitlab(BODY, SECRET, NOW).headers, BODY)
    assert _authenticator("gitlab").check(sent, NOW).event_id == "uuid-1"


def test_a_replay_with_a_new_id_header_is_the_same_event_where_no_time_is_signed() -> None:
    """Shopify signs the body only: a captured request sent again with another
    X-Shopify-Webhook-Id must not pass for a new event, so the signed bytes name it."""
    genuine = shopify(BODY, SECRET, NOW)
    first = Sent.of("POST", {**genuine.headers, "X-Shopify-Webhook-Id": "orig-1"}, BODY)
    replay = Sent.of("POST", {**genuine.headers, "X-Shopify-Webhook-Id": "forged-2"}, BODY)
    authenticator = _authenticator("shopify")
    named = authenticator.check(first, NOW).event_id
    assert named is not None and named.startswith("sha256:")
    assert authenticator.check(replay, NOW).event_id == named
