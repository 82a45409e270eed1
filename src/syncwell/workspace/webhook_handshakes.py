"""Subscription handshakes: what a sender asks of a URL before (or while) it sends events.

Some senders confirm that the receiver wants their events before they send any, and stop
sending if the answer is wrong. Three shapes cover the senders syncwell has met:

* ``echo_header``: the first request carries a secret header, to be sent back as it came
  (Asana's ``X-Hook-Secret``);
* ``challenge``: an event of a given type carries a value, to be answered as the response body
  (Slack's ``url_verification`` event and its ``challenge``);
* ``query``: a GET carries a value in the query, to be answered as the response body, after a
  token the receiver chose is checked (Meta and Strava ``hub.challenge`` with
  ``hub.verify_token``, Strava wanting it back as JSON; WebSub ``hub.challenge`` and Dropbox
  ``challenge`` with no token).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

__all__ = ["BodyChallenge", "EchoHeader", "Handshake", "QueryChallenge"]


class _Handshake(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EchoHeader(_Handshake):
    """A request carrying `header` is answered 200 with the same header and value."""

    kind: Literal["echo_header"] = Field(description="`echo_header`: echo a header back.")
    header: str = Field(
        default="X-Hook-Secret",
        description="The header to echo. Default X-Hook-Secret (Asana).",
    )


class BodyChallenge(_Handshake):
    """A verified event whose type is `type` is answered with the value at `field`."""

    kind: Literal["challenge"] = Field(description="`challenge`: answer an event's challenge.")
    type: str = Field(
        default="url_verification",
        description="The event type (at `event_type`) of the handshake. Default "
        "url_verification (Slack).",
    )
    field: str = Field(
        default="challenge", description="Body path of the value to answer. Default challenge."
    )


class QueryChallenge(_Handshake):
    """A GET with `param` in its query is answered with its value, once `token` matches."""

    kind: Literal["query"] = Field(description="`query`: answer a GET's challenge.")
    param: str = Field(
        default="hub.challenge", description="The query parameter. Default hub.challenge."
    )
    token_param: str | None = Field(
        default="hub.verify_token",
        description="The query parameter holding the token you gave the sender. Default "
        "hub.verify_token; null for senders that send none (Dropbox).",
    )
    token: SecretStr | None = Field(
        default=None, description="The token you gave the sender; needed with `token_param`."
    )
    reply: Literal["text", "json"] = Field(
        default="text",
        description="The value as plain text (Meta, Dropbox, WebSub), or as JSON "
        '`{"<param>": value}` (Strava). Default text.',
    )

    @model_validator(mode="after")
    def _token_when_asked(self) -> QueryChallenge:
        if self.token_param is not None and self.token is None:
            raise ValueError(
                f"set `token:` to the verify token you gave the sender (it comes back in "
                f"{self.token_param}), or `token_param: null` if the sender sends none"
            )
        return self


Handshake = Annotated[EchoHeader | BodyChallenge | QueryChallenge, Field(discriminator="kind")]
"""What a system's sender asks before it sends events."""
