"""Settings of a ``kind: http`` system: where the API is, how to sign in, how its errors read.

What each stream reads and writes lives in `syncwell.connectors.http.endpoints`; the whole
schema, with examples, is in docs/connectors/http.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from syncwell.connectors.http.endpoints import Stream, tagged

__all__ = [
    "ApiKeyAuth",
    "Auth",
    "BasicAuth",
    "BearerAuth",
    "ErrorClass",
    "ErrorRule",
    "OAuth2ClientCredentials",
    "Settings",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_STATUS_CLASS = re.compile(r"^[1-5]xx$")

ErrorClass = Literal["transient", "permanent", "rate_limited", "fatal", "ignore"]
"""What a matched error rule makes of an answer; see `ErrorRule.error_class`."""


class BearerAuth(BaseModel):
    """A fixed token sent as ``Authorization: Bearer <token>``."""

    model_config = _FROZEN

    type: Literal["bearer"] = Field(description="bearer")
    token: SecretStr = Field(description="The token; put it in ${ENV_VAR}, never in the file.")


class ApiKeyAuth(BaseModel):
    """A fixed key sent in a header or a query parameter (exactly one of the two)."""

    model_config = _FROZEN

    type: Literal["api_key"] = Field(description="api_key")
    key: SecretStr = Field(description="The key; put it in ${ENV_VAR}, never in the file.")
    header: str | None = Field(
        default=None, min_length=1, description="Header that carries the key, e.g. X-Api-Key."
    )
    query_param: str | None = Field(
        default=None, min_length=1, description="Query parameter that carries the key instead."
    )
    prefix: str = Field(
        default="",
        description="Text sent before the key, e.g. 'Token ' for `Authorization: Token <key>`. "
        "Default: none.",
    )

    @model_validator(mode="after")
    def _one_place(self) -> ApiKeyAuth:
        if (self.header is None) == (self.query_param is None):
            raise ValueError("api_key auth needs exactly one of `header:` or `query_param:`")
        return self


class BasicAuth(BaseModel):
    """HTTP Basic authentication (RFC 7617)."""

    model_config = _FROZEN

    type: Literal["basic"] = Field(description="basic")
    username: str = Field(description="The user name.")
    password: SecretStr = Field(description="The password; put it in ${ENV_VAR}.")


class OAuth2ClientCredentials(BaseModel):
    """OAuth 2.0 client credentials (RFC 6749 §4.4): a token fetched, then refreshed.

    The token is refreshed `refresh_margin_s` before it expires, and once more when the API
    answers 401 (the request is then sent again, once, with the fresh token).
    """

    model_config = _FROZEN

    type: Literal["oauth2_client_credentials"] = Field(description="oauth2_client_credentials")
    token_url: str = Field(
        min_length=1,
        description="The token endpoint: a full URL, or a path under base_url.",
    )
    client_id: str = Field(min_length=1, description="The client id.")
    client_secret: SecretStr = Field(description="The client secret; put it in ${ENV_VAR}.")
    scopes: tuple[str, ...] = Field(
        default=(), description="Scopes asked for, sent space-separated. Default: none."
    )
    credentials_in: Literal["body", "header"] = Field(
        default="body",
        description="Send client id and secret in the form body, or as HTTP Basic "
        "(`header`). Default body.",
    )
    extra: Mapping[str, str] = Field(
        default_factory=dict,
        description="More form fields for the token request, e.g. {audience: ...}. Default none.",
    )
    refresh_margin_s: float = Field(
        default=60.0,
        ge=0,
        description="Seconds before expiry a token is refreshed (at most half its lifetime). "
        "Default 60.",
    )


Auth = Annotated[
    BearerAuth | ApiKeyAuth | BasicAuth | OAuth2ClientCredentials, Field(discriminator="type")
]


class ErrorRule(BaseModel):
    """A rule that classifies an answer before the default mapping does.

    Rules are tried in order; the first whose status and body match decides. A rule may also
    match a 2xx answer whose body says it failed (``{ok: false}``).
    """

    model_config = _FROZEN

    status: int | str = Field(
        description="A status (409) or a class of them ('4xx'). Required.",
    )
    body_contains: str | None = Field(
        default=None, description="Matches only when the body contains this text. Default: any."
    )
    body_path: str | None = Field(
        default=None,
        description="Dotted path into the JSON body; matches when it `equals` the given value. "
        "Default: none.",
    )
    equals: str | int | float | bool | None = Field(
        default=None, description="The value `body_path` must hold (with body_path only)."
    )
    error_class: ErrorClass = Field(
        alias="class",
        description="transient (retry), permanent (dead-letter the record; on a read: fatal), "
        "rate_limited (retry after Retry-After), fatal (breaker, incident), or ignore "
        "(treat as success).",
    )

    @field_validator("status")
    @classmethod
    def _status(cls, value: int | str) -> int | str:
        if isinstance(value, int) and 100 <= value <= 599:
            return value
        if isinstance(value, str) and value.isdigit() and 100 <= int(value) <= 599:
            return int(value)
        if isinstance(value, str) and _STATUS_CLASS.match(value.lower()):
            return value.lower()
        raise ValueError(f"status must be a code like 409 or a class like '4xx', got {value!r}")

    @model_validator(mode="after")
    def _path_with_equals(self) -> ErrorRule:
        if (self.body_path is None) != ("equals" not in self.model_fields_set):
            raise ValueError("`body_path:` and `equals:` go together; give both or neither")
        return self


class Settings(BaseModel):
    """A JSON-over-HTTP API, configured without code: its streams, auth and error rules."""

    model_config = _FROZEN

    kind: Literal["http"] = Field(description="http")
    base_url: str = Field(
        description="The API's root, e.g. https://api.example.com; stream paths start here.",
    )
    headers: Mapping[str, str] = Field(
        default_factory=dict,
        description="Headers sent with every request, e.g. {Accept: application/json}. "
        "Default: none.",
    )
    timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a request may take (connect, send, wait, read) before it fails "
        "transiently. Default 30.",
    )
    max_connections: int = Field(
        default=10, ge=1, description="Open connections to the API at most. Default 10."
    )
    auth: Auth | None = Field(
        default=None,
        description="How requests sign in: bearer, api_key, basic or "
        "oauth2_client_credentials (by `type:`). Default: none.",
    )
    errors: tuple[ErrorRule, ...] = Field(
        default=(),
        description="Rules tried before the default error mapping, first match wins. "
        "Default: none.",
    )
    streams: Mapping[str, Stream] = Field(
        min_length=1,
        description="Each stream a flow may name, by name: its read and/or write endpoints.",
    )

    @field_validator("base_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(
                f"base_url must start with https:// (or http://), e.g. https://{value.lstrip('/')}"
            )
        return value

    @field_validator("auth", mode="before")
    @classmethod
    def _known_type(cls, value: object) -> object:
        types = ("bearer", "api_key", "basic", "oauth2_client_credentials")
        return tagged(value, "type", types, "auth")
