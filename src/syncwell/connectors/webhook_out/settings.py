"""Settings of a ``kind: webhook_out`` system: where the webhooks go and how they are signed."""

from __future__ import annotations

import base64
import binascii
import re
import string
from collections.abc import Mapping
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

__all__ = ["WHSEC_RECIPE", "Settings", "secret_key"]

WHSEC_RECIPE = (
    'make one with: python -c "import base64, secrets; '
    "print('whsec_' + base64.b64encode(secrets.token_bytes(32)).decode())\""
)
"""How to make a signing secret, for messages and docs."""

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP header name (RFC 9110 token)
# Headers the connector writes itself: letting settings replace them would break the signature
# or the request.
_RESERVED = frozenset(
    {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "content-type",
        "content-length",
        "host",
        "transfer-encoding",
    }
)


def secret_key(secret: str) -> bytes | None:
    """The key bytes of a ``whsec_<base64>`` secret of 24 to 64 bytes, else `None`.

    The Standard Webhooks spec asks for keys of 24 to 64 bytes; unpadded base64 is accepted.
    """
    if not secret.startswith("whsec_"):
        return None
    encoded = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if 24 <= len(key) <= 64 else None


class Settings(BaseModel):
    """An HTTP endpoint that receives one signed webhook per change (Standard Webhooks)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["webhook_out"]
    url: str = Field(
        description="The receiver's URL, http:// or https://. Redirects are not followed."
    )
    secret: SecretStr = Field(
        description="The signing secret shared with the receiver: whsec_ followed by the "
        f"base64 of 24 to 64 random bytes; {WHSEC_RECIPE}. Put it in ${{ENV_VAR}}, never in "
        "the file."
    )
    timeout_s: float = Field(
        default=15.0,
        gt=0,
        description="Seconds a request may take before it fails transiently. Default 15.",
    )
    headers: Mapping[str, SecretStr] = Field(
        default_factory=dict,
        description="Extra headers sent with every request, e.g. {Authorization: "
        "'Bearer ${TOKEN}'}; not the webhook-* or content headers. Default: none.",
    )
    allow_private_networks: bool = Field(
        default=False,
        description="Send to loopback, private, link-local and other non-public addresses. "
        "Default false: a URL could otherwise reach internal services.",
    )
    upsert_type: str = Field(
        default="{stream}.upserted",
        min_length=1,
        description="The event type of an upsert; {stream} is the flow's target. "
        "Default {stream}.upserted.",
    )
    delete_type: str = Field(
        default="{stream}.deleted",
        min_length=1,
        description="The event type of a delete; {stream} is the flow's target. "
        "Default {stream}.deleted.",
    )
    max_in_flight: int = Field(
        default=8,
        ge=1,
        le=64,
        description="Requests in flight at once within one write (one request per change). "
        "Default 8.",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 -- reading it validates it (a non-number raises)
        except ValueError as error:
            raise ValueError(f"url {value!r} is not a URL: {error}") from None
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(
                f"url must start with https:// (or http://) and name a host, got {value!r}"
            )
        if parts.username is not None or parts.password is not None:
            raise ValueError("url must not hold credentials; send them in `headers:` instead")
        return value

    @field_validator("secret")
    @classmethod
    def _standard_secret(cls, value: SecretStr) -> SecretStr:
        if secret_key(value.get_secret_value()) is None:
            raise ValueError(
                f"secret must be whsec_ followed by the base64 of 24 to 64 bytes; {WHSEC_RECIPE}"
            )
        return value

    @field_validator("headers")
    @classmethod
    def _own_headers(cls, value: Mapping[str, SecretStr]) -> Mapping[str, SecretStr]:
        for name, header in value.items():
            if not _TOKEN.fullmatch(name):
                raise ValueError(f"header name {name!r} is not a valid HTTP header name")
            if name.lower() in _RESERVED:
                raise ValueError(f"header {name!r} is set by the connector; remove it")
            if any(c in header.get_secret_value() for c in "\r\n\0"):
                raise ValueError(f"header {name!r} must not hold line breaks or NUL")
        return value

    @field_validator("upsert_type", "delete_type")
    @classmethod
    def _only_stream_placeholder(cls, value: str) -> str:
        try:
            fields = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
        except ValueError as error:
            raise ValueError(
                f"event type {value!r}: {error}; write {{{{ and }}}} for braces"
            ) from None
        if any(name != "stream" for name in fields):
            raise ValueError(f"event type {value!r} may only use the placeholder {{stream}}")
        return value
