"""How a system's webhooks prove they come from it: the `auth:` of a system's `webhooks:`.

One model per way of proving it, told apart by `kind`:

* ``standard``, ``github``, ``stripe``: the schemes syncwell knew first (`scheme:` and `secret:`
  at the top of `webhooks:` still mean these);
* ``header``: a static secret in a header (GitLab's ``X-Gitlab-Token``, Parse Server's
  ``X-Parse-Webhook-Key``), for senders that cannot sign;
* ``basic``: HTTP basic credentials in the URL the sender calls;
* ``path``: a secret in the URL path, ``/hooks/<system>/<secret>``;
* ``hmac``: an HMAC whose header, hash, encoding, prefix and signed text are configured;
* a named preset (``shopify``, ``slack``, ...) for a sender whose scheme is public, expanded by
  `syncwell.workspace.webhook_presets` into one of the above;
* ``none`` with ``unsigned: true``: anyone who can reach the URL can write. Only on purpose.
"""

from __future__ import annotations

import base64
import binascii
import re
import string
from typing import Annotated, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

__all__ = [
    "PRESETS",
    "BasicAuth",
    "HeaderAuth",
    "HmacAuth",
    "NoAuth",
    "PathAuth",
    "PresetAuth",
    "PresetName",
    "SchemeAuth",
    "WebhookAuth",
]

PresetName = Literal[
    "shopify",
    "slack",
    "zendesk",
    "linear",
    "intercom",
    "hubspot_v3",
    "gitlab",
    "ghost",
    "trello",
]
"""Senders whose scheme syncwell knows by name."""

PRESETS: tuple[str, ...] = get_args(PresetName)

_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token
_PLACEHOLDERS = frozenset({"body", "timestamp", "url", "method"})
# A URL path segment that needs no escaping, long enough not to be guessed.
_PATH_SECRET = re.compile(r"[A-Za-z0-9._~-]{16,256}")


class _Auth(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _secret_is_a_list_of_one(cls, data: object) -> object:
        # `secret: x` reads better than `secrets: [x]` for the usual single secret.
        if isinstance(data, dict) and "secret" in data:
            data = dict(data)
            data["secrets"] = [data.pop("secret"), *data.get("secrets", [])]
        return data

    @field_validator("secrets", mode="before", check_fields=False)
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return (value,) if isinstance(value, str | SecretStr) else value

    @field_validator("secrets", mode="after", check_fields=False)
    @classmethod
    def _not_empty(cls, value: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        for index, secret in enumerate(value):
            if not secret.get_secret_value():
                raise ValueError(
                    f"secrets[{index}] is empty; set it (an unset ${{VAR}} expands to nothing)"
                )
        return value


_SECRETS = Field(
    min_length=1,
    description="The secret(s); a request that matches any of them passes, so a new one can "
    "be added before the old one is removed. `secret:` is one.",
)


class SchemeAuth(_Auth):
    """Standard Webhooks, GitHub or Stripe signatures (what `scheme:` chooses)."""

    kind: Literal["standard", "github", "stripe"] = Field(
        description="standard (webhook-id/-timestamp/-signature), github (X-Hub-Signature-256) "
        "or stripe (Stripe-Signature)."
    )
    secrets: tuple[SecretStr, ...] = _SECRETS

    @model_validator(mode="after")
    def _standard_secrets(self) -> SchemeAuth:
        for index, secret in enumerate(self.secrets):
            text = secret.get_secret_value()
            if self.kind == "standard" and not _is_standard_secret(text):
                raise ValueError(
                    f"secrets[{index}] is not a Standard Webhooks secret: it must be 'whsec_' "
                    "followed by the base64 of the key bytes, as the sender shows it"
                )
        return self


class HeaderAuth(_Auth):
    """A static secret the sender puts in a header, compared in constant time."""

    kind: Literal["header"] = Field(description="`header`: a static secret in a header.")
    header: str = Field(description="The header that carries the secret, e.g. X-Gitlab-Token.")
    prefix: str = Field(
        default="",
        description="Text before the secret in the header, e.g. `Bearer ` for Authorization. "
        "Default: none.",
    )
    secrets: tuple[SecretStr, ...] = _SECRETS
    id_header: str | None = Field(
        default=None,
        description="A header holding the event id, e.g. X-Gitlab-Event-UUID. Default: none "
        "(the id comes from the body).",
    )

    @field_validator("header", "id_header")
    @classmethod
    def _header_names(cls, value: str | None) -> str | None:
        return _header_name(value)


class BasicAuth(_Auth):
    """HTTP basic credentials: `https://user:password@host/hooks/<system>`."""

    kind: Literal["basic"] = Field(description="`basic`: HTTP basic credentials.")
    username: str = Field(min_length=1, description="The user name the sender sends.")
    passwords: tuple[SecretStr, ...] = Field(
        min_length=1,
        description="The password(s); any passes, for rotation. `password:` is one.",
    )

    @model_validator(mode="before")
    @classmethod
    def _one_password(cls, data: object) -> object:
        if isinstance(data, dict) and "password" in data:
            data = dict(data)
            data["passwords"] = [data.pop("password"), *data.get("passwords", [])]
        return data

    @field_validator("passwords", mode="after")
    @classmethod
    def _passwords_set(cls, value: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        if any(not password.get_secret_value() for password in value):
            raise ValueError("a password is empty; set it (an unset ${VAR} expands to nothing)")
        return value


class PathAuth(_Auth):
    """A secret in the URL path: the sender calls `/hooks/<system>/<secret>`.

    The secret is never logged; the URL is the credential, so keep it like a password.
    """

    kind: Literal["path"] = Field(description="`path`: a secret in the URL path.")
    secrets: tuple[SecretStr, ...] = _SECRETS

    @field_validator("secrets", mode="after")
    @classmethod
    def _guessable(cls, value: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        for index, secret in enumerate(value):
            if not _PATH_SECRET.fullmatch(secret.get_secret_value()):
                raise ValueError(
                    f"secrets[{index}] must be 16 to 256 letters, digits or ._~- (a URL path "
                    "segment that cannot be guessed); make one with "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
                )
        return value


class HmacAuth(_Auth):
    """An HMAC of the request, the way the sender computes it.

    `signed` is the text the sender signs, with ``{body}`` (the raw body), ``{timestamp}``
    (as sent), ``{url}`` (`url`) and ``{method}``: ``"{timestamp}.{body}"``, ``"{body}{url}"``.
    """

    kind: Literal["hmac"] = Field(description="`hmac`: an HMAC configured here.")
    secrets: tuple[SecretStr, ...] = _SECRETS
    header: str = Field(description="The header holding the signature.")
    algorithm: Literal["sha1", "sha256", "sha512"] = Field(
        default="sha256", description="The HMAC's hash. Default sha256."
    )
    encoding: Literal["hex", "base64"] = Field(
        default="hex", description="How the digest is written. Default hex."
    )
    prefix: str = Field(
        default="", description="Text before the digest, e.g. `sha256=`. Default: none."
    )
    signature_item: str | None = Field(
        default=None,
        description="When the header is a list of `name=value` items (`sha256=<hex>, t=<ms>`): "
        "the name of the signature's item. Default: the header is the signature.",
    )
    timestamp_item: str | None = Field(
        default=None,
        description="With `signature_item`: the name of the item holding the timestamp.",
    )
    signed: str = Field(
        default="{body}",
        description="The signed text: {body}, {timestamp}, {url} and {method} in any order "
        "with any text between. Default {body}.",
    )
    text: Literal["utf8", "binary"] = Field(
        default="utf8",
        description="How the signed text becomes bytes: `utf8` (the body's bytes as sent), or "
        "`binary`, each character's low 8 bits, as a Node.js 'binary' string does (Trello "
        "signs so). Default utf8.",
    )
    timestamp_header: str | None = Field(
        default=None, description="The header holding the signed timestamp. Default: none."
    )
    timestamp_field: str | None = Field(
        default=None,
        description="A body path holding the timestamp, checked after the signature (Linear's "
        "webhookTimestamp). Default: none.",
    )
    timestamp_unit: Literal["s", "ms", "iso8601"] = Field(
        default="s",
        description="How the timestamp is written: Unix seconds, milliseconds, or ISO 8601. "
        "Default s.",
    )
    url: str | None = Field(
        default=None,
        description="The URL the sender calls, exactly as registered with it (behind a proxy "
        "or tunnel it differs from what syncwell sees); needed when `signed` has {url}.",
    )
    id_header: str | None = Field(
        default=None, description="A header holding the event id. Default: none."
    )

    @field_validator("header", "timestamp_header", "id_header")
    @classmethod
    def _header_names(cls, value: str | None) -> str | None:
        return _header_name(value)

    @model_validator(mode="after")
    def _signed_text_is_whole(self) -> HmacAuth:
        names = _placeholders(self.signed)
        if "body" not in names:
            raise ValueError(
                f"signed '{self.signed}' leaves out {{body}}: a signature that does not cover "
                "the body proves nothing about it"
            )
        has_timestamp = self.timestamp_header or self.timestamp_item
        if "timestamp" in names and not has_timestamp:
            raise ValueError(
                "signed has {timestamp}: name the header that holds it (`timestamp_header:`), "
                "or the item of the signature header (`timestamp_item:`)"
            )
        if "url" in names and not self.url:
            raise ValueError(
                "signed has {url}: set `url:` to the URL registered with the sender, exactly"
            )
        if self.timestamp_item and not self.signature_item:
            raise ValueError("timestamp_item needs signature_item: the header is then a list")
        return self


class PresetAuth(_Auth):
    """A sender whose scheme is public, by name (docs/webhooks.md lists what each checks)."""

    kind: PresetName = Field(description=f"One of: {', '.join(PRESETS)}.")
    secrets: tuple[SecretStr, ...] = _SECRETS
    url: str | None = Field(
        default=None,
        description="hubspot_v3 and trello sign the URL they call: set it exactly as "
        "registered with them.",
    )

    @model_validator(mode="after")
    def _url_when_signed(self) -> PresetAuth:
        if self.kind in ("hubspot_v3", "trello") and not self.url:
            raise ValueError(
                f"{self.kind} signs the URL it calls: set `url:` to the webhook URL exactly as "
                f"registered with {self.kind.split('_')[0].title()}"
            )
        return self


class NoAuth(_Auth):
    """No proof at all: anyone who can reach the URL can write. `syncwell check` warns."""

    kind: Literal["none"] = Field(description="`none`: no authentication (with `unsigned: true`).")
    unsigned: Literal[True] = Field(
        description="Must be `true`: you accept events that nobody signed. Prefer `header`, "
        "`basic` or `path` if the sender can do any of them."
    )


WebhookAuth = Annotated[
    SchemeAuth | HeaderAuth | BasicAuth | PathAuth | HmacAuth | PresetAuth | NoAuth,
    Field(discriminator="kind"),
]
"""How one system's webhooks are authenticated."""


def _is_standard_secret(text: str) -> bool:
    encoded = text.removeprefix("whsec_")
    if encoded == text or not encoded:
        return False
    try:
        return bool(base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True))
    except (binascii.Error, ValueError):
        return False


def _header_name(value: str | None) -> str | None:
    if value is not None and not _HEADER_NAME.fullmatch(value):
        raise ValueError(f"'{value}' is not a header name (letters, digits and -)")
    return value


def _placeholders(template: str) -> set[str]:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as error:
        raise ValueError(f"signed '{template}' is not a template: {error}") from None
    unknown = names - _PLACEHOLDERS
    if unknown:
        raise ValueError(
            f"signed '{template}' has {', '.join(sorted(unknown))}; the parts are "
            f"{', '.join('{' + n + '}' for n in sorted(_PLACEHOLDERS))}"
        )
    return names
