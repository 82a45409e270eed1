"""Webhook signatures: is this request really from the system it names, and is it fresh?

The ingress calls `verify` with the raw body bytes and the request headers before it parses
anything. Three schemes, all HMAC-SHA256:

* ``standard`` (https://www.standardwebhooks.com): ``webhook-id``, ``webhook-timestamp`` (Unix
  seconds) and ``webhook-signature: v1,<base64> [v1,<base64> ...]`` over
  ``{id}.{timestamp}.{body}``, with a ``whsec_<base64>`` secret. The ``svix-*`` names of the same
  headers are accepted too.
* ``github``: ``X-Hub-Signature-256: sha256=<hex>`` over the body; the event id is
  ``X-GitHub-Delivery`` (optional). GitHub signs no time, so nothing stops a captured request
  from being replayed later: the ingress must deduplicate on the delivery id.
* ``stripe``: ``Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`` over ``{t}.{body}``,
  keyed by the secret exactly as Stripe shows it (``whsec_...`` included). The event id is in
  the body, so `Verified.event_id` is `None`.

Several secrets may be configured at once, so a secret can be rotated without refusing the
requests signed while the sender switches over. Any request that does not pass raises
`WebhookRefused` with the HTTP status to answer and a reason that says what was wrong and what
was expected; nothing else is ever raised, whatever the headers and body hold.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from syncwell.errors import SyncwellError

__all__ = ["Scheme", "SignatureSettings", "Verified", "WebhookRefused", "verify"]

Scheme = Literal["standard", "github", "stripe"]
"""How a system signs the webhooks it sends."""

_STANDARD_PREFIX = "whsec_"
_DIGEST_BYTES = hashlib.sha256().digest_size
_SECONDS = re.compile(r"[0-9]{1,12}")  # 12 digits reach the year 33658: no float overflow
_HEX_DIGEST = re.compile(rf"[0-9a-fA-F]{{{2 * _DIGEST_BYTES}}}")
# Event ids are stored to deduplicate deliveries, and they are signed as UTF-8 by the sender
# while servers decode header bytes as Latin-1: visible ASCII is the one alphabet both agree on.
_EVENT_ID = re.compile(r"[\x21-\x7e]{1,256}")


# Named for the answer it carries (the ingress refuses the request), as the ingress expects it.
class WebhookRefused(SyncwellError):  # noqa: N818
    """A webhook request that must not be accepted, with the answer to give its sender.

    Args:
        status: the HTTP status to answer: 400 malformed headers, 401 a missing or wrong
            signature or a timestamp out of tolerance, 413 a body over the size limit.
        reason: what was wrong and what was expected, fit to show the sender.
    """

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.status}: {self.reason}"

    def __reduce__(self) -> tuple[object, ...]:
        return (WebhookRefused, (self.status, self.reason))


@dataclass(frozen=True, slots=True)
class Verified:
    """What a verified request tells about its event.

    Attributes:
        event_id: the sender's id of the event, to deduplicate on; `None` when the scheme
            carries none in its headers (stripe puts it in the body) or the sender left it out.
        timestamp: when the sender signed the request, Unix seconds; `None` for github.
    """

    event_id: str | None
    timestamp: float | None


class SignatureSettings(BaseModel):
    """How one system's webhooks are verified."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scheme: Scheme = Field(description="How the system signs: standard, github or stripe.")
    secrets: tuple[SecretStr, ...] = Field(
        min_length=1,
        description="The signing secret(s); a request signed with any of them passes, so a new "
        "secret can be added before the old one is removed. standard: whsec_<base64>; github "
        "and stripe: the secret exactly as the system shows it.",
    )
    tolerance_s: float = Field(
        default=300.0,
        gt=0,
        description="Seconds a signed timestamp may be away from now, in the past or the future. "
        "Default: 300.",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1, description="Largest body accepted, bytes. Default: 1 MiB."
    )

    @field_validator("secrets", mode="before")
    @classmethod
    def _one_secret_is_a_list_of_one(cls, value: object) -> object:
        return (value,) if isinstance(value, str | SecretStr) else value

    @model_validator(mode="after")
    def _secrets_fit_the_scheme(self) -> SignatureSettings:
        for index, secret in enumerate(self.secrets):
            text = secret.get_secret_value()
            if not text:
                raise ValueError(f"secrets[{index}] is empty")
            if self.scheme == "standard" and _standard_key(text) is None:
                raise ValueError(
                    f"secrets[{index}] is not a Standard Webhooks secret: it must be "
                    f"'{_STANDARD_PREFIX}' followed by the base64 of the key bytes"
                )
        return self


def verify(
    settings: SignatureSettings, headers: Mapping[str, str], body: bytes, now: float
) -> Verified:
    """Check a webhook request's signature and freshness, before its body is parsed.

    Args:
        settings: the system's scheme, secrets and limits.
        headers: the request headers; names are matched without regard to case, and a header
            that appears twice (as ``Starlette``'s ``Headers.items()`` shows it) is refused.
        body: the raw body bytes, exactly as received.
        now: the current time, Unix seconds.

    Returns:
        The event id and signing time the headers carry.

    Raises:
        WebhookRefused: for any request that does not pass; nothing else is raised.
    """
    return _verify(settings, _Headers(headers), body, now)


def _verify(settings: SignatureSettings, headers: _Headers, body: bytes, now: float) -> Verified:
    """`verify`, for headers already read (the ingress reads them once for every scheme)."""
    if len(body) > settings.max_body_bytes:
        raise WebhookRefused(
            413, f"body is {len(body)} bytes; the limit is {settings.max_body_bytes} bytes"
        )
    return _SCHEMES[settings.scheme](settings, headers, body, now)


class _Headers:
    """Headers by lower-cased name, keeping every value so that duplicates can be refused."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in headers.items():
            self._values.setdefault(name.lower(), []).append(value.strip(" \t"))

    def get(self, *names: str) -> tuple[str, str] | None:
        """The one value sent under any of `names` (aliases), with the name it came under."""
        found = [(name, value) for name in names for value in self._values.get(name, ())]
        if not found:
            return None
        name, value = found[0]
        if len(found) > 1 and any(other != value for _, other in found):
            sent = ", ".join(f"{n}: {_show(v)}" for n, v in found)
            raise WebhookRefused(400, f"{name} was sent {len(found)} times ({sent}); send it once")
        if len({n for n, _ in found}) < len(found):
            raise WebhookRefused(400, f"{name} was sent {len(found)} times; send it once")
        return name, value

    def required(self, *names: str, status: int = 400) -> tuple[str, str]:
        """Like `get`, but a missing or empty header is refused with `status`."""
        found = self.get(*names)
        if found is None:
            raise WebhookRefused(status, f"header {' or '.join(names)} is missing")
        if not found[1]:
            raise WebhookRefused(400, f"header {found[0]} is empty")
        return found


def _verify_standard(
    settings: SignatureSettings, headers: _Headers, body: bytes, now: float
) -> Verified:
    # Hand-written rather than `standardwebhooks.Webhook.verify`: that one reads the wall clock
    # itself with a fixed 5-minute tolerance, takes one secret, gives the same vague message for
    # every fault, decodes the body as UTF-8 and raises ValueError or binascii.Error on odd
    # headers. The HMAC and the comparison below are the spec's, checked against its vectors.
    id_name, event_id = headers.required("webhook-id", "svix-id")
    if not _EVENT_ID.fullmatch(event_id):
        raise WebhookRefused(
            400, f"{id_name} must be 1 to 256 visible ASCII characters, got {_show(event_id)}"
        )
    stamp_name, stamp = headers.required("webhook-timestamp", "svix-timestamp")
    timestamp = _whole_seconds(stamp_name, stamp)
    sig_name, signature = headers.required("webhook-signature", "svix-signature", status=401)
    offered = _standard_signatures(sig_name, signature)
    _check_fresh(stamp_name, timestamp, now, settings.tolerance_s)
    signed = f"{event_id}.{stamp}.".encode() + body
    keys = [_standard_key(secret.get_secret_value()) or b"" for secret in settings.secrets]
    _check_match(sig_name, signed, keys, offered)
    return Verified(event_id=event_id, timestamp=float(timestamp))


def _standard_signatures(name: str, header: str) -> list[bytes]:
    """The v1 signatures of a ``webhook-signature`` header; other versions are skipped."""
    offered: list[bytes] = []
    versions: list[str] = []
    for entry in header.split():
        version, comma, encoded = entry.partition(",")
        if not comma or not version:
            raise WebhookRefused(
                400, f"each {name} entry must be 'v1,<base64>', got {_show(entry)}"
            )
        versions.append(version)
        if version != "v1":
            continue  # the spec reserves other versions (v1a: ed25519); a later one may add them
        digest = _strict_b64(encoded)
        if digest is None or len(digest) != _DIGEST_BYTES:
            raise WebhookRefused(
                400,
                f"{name} entry {_show(entry)} is not 'v1,' followed by the base64 of a "
                f"{_DIGEST_BYTES}-byte HMAC-SHA256",
            )
        offered.append(digest)
    if not offered:
        raise WebhookRefused(
            401,
            f"{name} holds no v1 signature (versions sent: {_show(', '.join(versions))}); "
            "expected 'v1,<base64 HMAC-SHA256>'",
        )
    return offered


def _verify_github(
    settings: SignatureSettings, headers: _Headers, body: bytes, now: float
) -> Verified:
    name, header = headers.required("x-hub-signature-256", status=401)
    algorithm, equals, digest = header.partition("=")
    if algorithm != "sha256" or not equals or not _HEX_DIGEST.fullmatch(digest):
        raise WebhookRefused(
            400,
            f"{name} must be 'sha256=' followed by {2 * _DIGEST_BYTES} hex digits, "
            f"got {_show(header)}",
        )
    delivery = headers.get("x-github-delivery")
    if delivery is not None and not _EVENT_ID.fullmatch(delivery[1]):
        raise WebhookRefused(
            400,
            f"{delivery[0]} must be 1 to 256 visible ASCII characters, got {_show(delivery[1])}",
        )
    keys = [secret.get_secret_value().encode() for secret in settings.secrets]
    _check_match(name, body, keys, [bytes.fromhex(digest)])
    return Verified(event_id=None if delivery is None else delivery[1], timestamp=None)


def _verify_stripe(
    settings: SignatureSettings, headers: _Headers, body: bytes, now: float
) -> Verified:
    name, header = headers.required("stripe-signature", status=401)
    stamps: list[str] = []
    offered: list[bytes] = []
    for item in header.split(","):
        key, equals, value = item.strip(" \t").partition("=")
        if not key or not equals:
            raise WebhookRefused(
                400, f"{name} must be 't=<unix seconds>,v1=<hex>[,...]', got item {_show(item)}"
            )
        if key == "t":
            stamps.append(value)
        elif key == "v1":
            if not _HEX_DIGEST.fullmatch(value):
                raise WebhookRefused(
                    400, f"{name} v1 must be {2 * _DIGEST_BYTES} hex digits, got {_show(value)}"
                )
            offered.append(bytes.fromhex(value))
        # v0 (test mode's signature) and schemes Stripe may add later are not ours to check.
    if len(stamps) != 1:
        raise WebhookRefused(400, f"{name} must hold one t=<unix seconds>, found {len(stamps)}")
    timestamp = _whole_seconds(f"{name} t", stamps[0])
    if not offered:
        raise WebhookRefused(401, f"{name} holds no v1 signature; expected v1=<hex HMAC-SHA256>")
    _check_fresh(f"{name} t", timestamp, now, settings.tolerance_s)
    keys = [secret.get_secret_value().encode() for secret in settings.secrets]
    _check_match(name, f"{stamps[0]}.".encode() + body, keys, offered)
    return Verified(event_id=None, timestamp=float(timestamp))


_SCHEMES: dict[str, Callable[[SignatureSettings, _Headers, bytes, float], Verified]] = {
    "standard": _verify_standard,
    "github": _verify_github,
    "stripe": _verify_stripe,
}


def _whole_seconds(name: str, value: str) -> int:
    if not _SECONDS.fullmatch(value):
        raise WebhookRefused(400, f"{name} must be whole Unix seconds, got {_show(value)}")
    return int(value)


def _check_fresh(name: str, timestamp: int, now: float, tolerance_s: float) -> None:
    # Both ways: an old request may be a replay, and a future one would stay replayable for
    # as long as it is ahead of the clock.
    age = now - timestamp
    if age > tolerance_s:
        raise WebhookRefused(
            401,
            f"{name} {timestamp} is {age:.0f} s old; at most {tolerance_s:g} s is accepted "
            "(a replayed request, or the sender's clock is behind)",
        )
    if -age > tolerance_s:
        raise WebhookRefused(
            401,
            f"{name} {timestamp} is {-age:.0f} s in the future; at most {tolerance_s:g} s is "
            "accepted (the sender's clock is ahead)",
        )


def _check_match(name: str, signed: bytes, keys: list[bytes], offered: list[bytes]) -> None:
    for key in keys:
        expected = hmac.new(key, signed, hashlib.sha256).digest()
        if any(hmac.compare_digest(expected, digest) for digest in offered):
            return
    raise WebhookRefused(
        401, f"{name} does not match the body with any configured secret (forged, or altered)"
    )


def _standard_key(secret: str) -> bytes | None:
    """The key bytes of a ``whsec_<base64>`` secret, or `None` if it is not one."""
    if not secret.startswith(_STANDARD_PREFIX):
        return None
    encoded = secret.removeprefix(_STANDARD_PREFIX)
    # Some senders print the secret without base64 padding; the key is the same.
    key = _strict_b64(encoded + "=" * (-len(encoded) % 4))
    return key or None


def _strict_b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):  # ValueError: non-ASCII text
        return None


def _show(value: str, limit: int = 60) -> str:
    """A header value quoted for a reason: escaped, and cut short so a reason stays short."""
    return repr(value if len(value) <= limit else value[:limit] + "...")
