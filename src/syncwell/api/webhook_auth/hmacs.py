"""A configurable HMAC: the header, hash, encoding and prefix, and what text is signed.

The signed text is put together from the template's parts as bytes (the body is never decoded),
the digest is read strictly (a wrong length or alphabet is a 400 that says what was expected),
and the timestamp is checked both ways against `tolerance`, before or after the signature as
the sender puts it: in a header, in an item of the signature header, or in the body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import string
from datetime import UTC, datetime

from syncwell.api.signatures import Verified, WebhookRefused, _check_fresh, _show
from syncwell.api.webhook_auth.sent import Sent
from syncwell.api.webhook_auth.tokens import id_header
from syncwell.connectors.http.records import MISSING, dig
from syncwell.workspace.webhook_auth import HmacAuth

__all__ = ["check_hmac"]

_DIGITS = {"s": re.compile(r"[0-9]{1,12}"), "ms": re.compile(r"[0-9]{1,15}")}


def check_hmac(auth: HmacAuth, sent: Sent, now: float, tolerance_s: float) -> Verified:
    """Check the request's HMAC and its timestamp's freshness.

    Raises:
        WebhookRefused: 400 for a malformed header, 401 for a missing or wrong signature or a
            timestamp out of tolerance.
    """
    name, header = sent.headers.required(auth.header.lower(), status=401)
    offered, stamp, stamp_name = _offered(auth, name, header)
    if stamp is None and auth.timestamp_header is not None:
        stamp_name, stamp = sent.headers.required(auth.timestamp_header.lower(), status=401)
    signed_at = None
    if stamp is not None:
        signed_at = _read_stamp(stamp_name, stamp, auth.timestamp_unit)
        _check_fresh(stamp_name, int(signed_at), now, tolerance_s)
    signed = _signed(auth, sent, stamp or "")
    algorithm = getattr(hashlib, auth.algorithm)
    if not any(
        hmac.compare_digest(hmac.new(s.get_secret_value().encode(), signed, algorithm).digest(), o)
        for s in auth.secrets
        for o in offered
    ):
        # If every request fails: the secret, or for {url} the registered URL, differs.
        hint = " and url" if "{url}" in auth.signed else ""
        raise WebhookRefused(
            401,
            f"{name} does not match the request with any configured secret (forged, or "
            f"altered; if no request passes, check the secret{hint} against the sender's)",
        )
    if auth.timestamp_field is not None:
        signed_at = _body_stamp(auth, sent.body, now, tolerance_s)
    event_id = id_header(auth.id_header, sent)
    if event_id is not None and signed_at is None and "{body}" in auth.signed:
        # Nothing signed says when: a captured request could be sent again with a new id in
        # the (unsigned) id header. The signed bytes themselves name the event instead, so a
        # replay within the dedupe period is a duplicate; the sender's retries still are.
        event_id = "sha256:" + hashlib.sha256(sent.body).hexdigest()
    return Verified(event_id=event_id, timestamp=signed_at)


def _offered(auth: HmacAuth, name: str, header: str) -> tuple[list[bytes], str | None, str]:
    """The digests the header offers, and the timestamp it carries (when it is a list)."""
    if auth.signature_item is None:
        if not header.startswith(auth.prefix):
            raise WebhookRefused(
                400,
                f"{name} must be {auth.prefix!r} then the {_what(auth)}, got {_show(header)}",
            )
        return [_digest(auth, name, header.removeprefix(auth.prefix))], None, name
    digests: list[bytes] = []
    stamps: list[str] = []
    for item in header.split(","):
        key, equals, value = item.strip(" \t").partition("=")
        if not equals:
            raise WebhookRefused(
                400, f"{name} must be a list of name=value items, got {_show(item)}"
            )
        if key == auth.signature_item:
            digests.append(_digest(auth, name, value))
        elif key == auth.timestamp_item:
            stamps.append(value)
    if not digests:
        raise WebhookRefused(401, f"{name} holds no {auth.signature_item}=<{_what(auth)}>")
    if auth.timestamp_item is not None and len(stamps) != 1:
        raise WebhookRefused(
            400, f"{name} must hold one {auth.timestamp_item}=, found {len(stamps)}"
        )
    return digests, (stamps[0] if stamps else None), f"{name} {auth.timestamp_item}"


def _digest(auth: HmacAuth, name: str, text: str) -> bytes:
    size = getattr(hashlib, auth.algorithm)().digest_size
    digest: bytes | None
    if auth.encoding == "hex":
        digest = bytes.fromhex(text) if re.fullmatch(rf"[0-9a-fA-F]{{{2 * size}}}", text) else None
    else:
        try:
            digest = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            digest = None
    if digest is None or len(digest) != size:
        raise WebhookRefused(400, f"{name} is not the {_what(auth)}, got {_show(text)}")
    return digest


def _what(auth: HmacAuth) -> str:
    return f"{auth.encoding} of an HMAC-{auth.algorithm.upper()}"


def _read_stamp(name: str, text: str, unit: str) -> float:
    if unit == "iso8601":
        try:
            at = datetime.fromisoformat(text)
        except ValueError:
            raise WebhookRefused(
                400, f"{name} must be an ISO 8601 time, got {_show(text)}"
            ) from None
        return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
    if not _DIGITS[unit].fullmatch(text):
        words = "Unix seconds" if unit == "s" else "Unix milliseconds"
        raise WebhookRefused(400, f"{name} must be whole {words}, got {_show(text)}")
    return int(text) / (1 if unit == "s" else 1000)


def _signed(auth: HmacAuth, sent: Sent, stamp: str) -> bytes:
    parts = {
        "body": sent.body,
        "timestamp": stamp.encode(),
        "url": (auth.url or "").encode(),
        "method": sent.method.encode(),
    }
    signed = b""
    for literal, field, _, _ in string.Formatter().parse(auth.signed):
        signed += literal.encode()
        if field is not None:
            signed += parts[field]
    return _binary(signed) if auth.text == "binary" else signed


def _binary(signed: bytes) -> bytes:
    """The text as a Node.js 'binary' string: each character's low 8 bits.

    Trello's documentation says so: it signs the body and callback URL as binary strings,
    so an en dash (U+2013) is signed as the byte 0x13.
    """
    try:
        text = signed.decode()
    except UnicodeDecodeError:
        raise WebhookRefused(400, "the body is not UTF-8 text") from None
    return bytes(ord(character) & 0xFF for character in text)


def _body_stamp(auth: HmacAuth, body: bytes, now: float, tolerance_s: float) -> float:
    """The timestamp a signed body carries (Linear's webhookTimestamp), checked for freshness."""
    assert auth.timestamp_field is not None
    where = f"the body's {auth.timestamp_field}"
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise WebhookRefused(400, "the body is not JSON") from None
    value = dig(document, auth.timestamp_field) if isinstance(document, dict) else MISSING
    if value is MISSING or value is None:
        raise WebhookRefused(401, f"{where} is missing; the sender signs a time there")
    signed_at = _read_stamp(where, str(value), auth.timestamp_unit)
    _check_fresh(where, int(signed_at), now, tolerance_s)
    return signed_at
