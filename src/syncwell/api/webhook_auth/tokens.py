"""Senders that cannot sign: a static secret in a header, HTTP basic, a secret in the path.

Each secret is compared with `hmac.compare_digest` against every configured one (rotation),
so the time a comparison takes tells nothing of how much of a guess was right.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from pydantic import SecretStr

from syncwell.api.signatures import _EVENT_ID, Verified, WebhookRefused, _show
from syncwell.api.webhook_auth.sent import Sent
from syncwell.workspace.webhook_auth import BasicAuth, HeaderAuth, PathAuth

__all__ = ["check_basic", "check_header", "check_path", "id_header"]


def check_header(auth: HeaderAuth, sent: Sent) -> Verified:
    """The header holds one of the secrets (after `prefix`)."""
    name, value = sent.headers.required(auth.header.lower(), status=401)
    if not value.startswith(auth.prefix):
        raise WebhookRefused(401, f"{name} must start with {auth.prefix!r}")
    if not _matches(value.removeprefix(auth.prefix), auth.secrets):
        raise WebhookRefused(401, f"{name} does not match the configured secret")
    return Verified(event_id=id_header(auth.id_header, sent), timestamp=None)


def check_basic(auth: BasicAuth, sent: Sent) -> Verified:
    """`Authorization: Basic` with the user name and one of the passwords."""
    challenge = "send HTTP basic credentials: https://<user>:<password>@<host>/hooks/<system>"
    found = sent.headers.get("authorization")
    if found is None:
        raise WebhookRefused(401, f"header Authorization is missing; {challenge}")
    scheme, _, encoded = found[1].partition(" ")
    if scheme.lower() != "basic":
        raise WebhookRefused(401, f"Authorization is not Basic; {challenge}")
    try:
        user, colon, password = (
            base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        )
    except (binascii.Error, ValueError):  # ValueError: not ASCII, or not UTF-8
        raise WebhookRefused(400, "Authorization Basic is not base64 of user:password") from None
    user_ok = hmac.compare_digest(user.encode(), auth.username.encode())
    if not colon or not (_matches(password, auth.passwords) and user_ok):
        raise WebhookRefused(401, "the user name or password does not match")
    return Verified(event_id=None, timestamp=None)


def check_path(auth: PathAuth, sent: Sent) -> Verified:
    """The URL path ends in one of the secrets: `/hooks/<system>/<secret>`."""
    if sent.path_secret is None:
        raise WebhookRefused(
            401, "this system's webhooks carry a secret in the path: POST /hooks/<system>/<secret>"
        )
    if not _matches(sent.path_secret, auth.secrets):
        raise WebhookRefused(401, "the secret in the path does not match")  # never echo it
    return Verified(event_id=None, timestamp=None)


def _matches(offered: str, secrets: tuple[SecretStr, ...]) -> bool:
    given = offered.encode()
    # Every secret is compared, matched or not: the count of comparisons is always the same.
    results = [hmac.compare_digest(given, s.get_secret_value().encode()) for s in secrets]
    return any(results)


def id_header(name: str | None, sent: Sent) -> str | None:
    """The event id in header `name`, if configured and sent.

    Raises:
        WebhookRefused: 400 for an id that is not 1 to 256 visible ASCII characters.
    """
    if name is None:
        return None
    found = sent.headers.get(name.lower())
    if found is None:
        return None
    if not _EVENT_ID.fullmatch(found[1]):
        raise WebhookRefused(
            400, f"{found[0]} must be 1 to 256 visible ASCII characters, got {_show(found[1])}"
        )
    return found[1]
