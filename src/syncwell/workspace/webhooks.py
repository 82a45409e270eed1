"""How a system's webhooks are received: who may send them, limits, and what events mean."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from syncwell.workspace.durations import PositiveDuration
from syncwell.workspace.webhook_auth import NoAuth, WebhookAuth
from syncwell.workspace.webhook_handshakes import Handshake

__all__ = ["BODY_ID", "WebhookIntake", "webhook_warnings"]

BODY_ID = "@body"
"""`event_id: "@body"`: events are told apart by the SHA-256 of their raw body."""


class WebhookIntake(BaseModel):
    """A system's webhooks, received at ``POST /hooks/<system>``.

    An event becomes changes of each realtime flow that reads its stream from this system.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    auth: WebhookAuth = Field(
        description="How requests prove they come from the system: `kind:` standard, github, "
        "stripe, header, basic, path, hmac, a preset (shopify, slack, ...), or none with "
        "`unsigned: true`. `scheme:` with `secret:` is the older spelling of the first three."
    )
    tolerance: PositiveDuration = Field(
        default=timedelta(minutes=5),
        description="How far a signed timestamp may be from now, either way. Default 5m.",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1, description="Largest body accepted, bytes. Default 1 MiB."
    )
    dedupe_for: PositiveDuration = Field(
        default=timedelta(hours=72),
        description="How long an event id is remembered to drop redeliveries; longer than "
        "the sender retries. Default 72h.",
    )
    event_id: str | Annotated[tuple[str, ...], Field(min_length=1)] | None = Field(
        default=None,
        description="Dotted path of the event id in the body; a list of paths whose values "
        "together are the id (HubSpot's eventId alone is not unique); or `@body` (the SHA-256 "
        "of the body, for senders that send no id). Default: the auth's id header, else the "
        "preset's, else `id`.",
    )
    event_type: str = Field(default="type", description="Path of the event type. Default type.")
    record: str = Field(
        default="data", description="Path of the changed record in the body. Default data."
    )
    records: str | None = Field(
        default=None,
        description="Path of a list of changed records (`data.rows`): each row is a change, "
        "deletes included; replaces `record`. Default: one record per event.",
    )
    ids: str | None = Field(
        default=None,
        description="Path of the changed records' keys (a list, or one) in a thin event that "
        "carries no records: deletes are journaled at once, other changes are re-read from "
        "the source. Default: none.",
    )
    route_by: str | None = Field(
        default=None,
        description="Path of a body field (`data.table_name`) whose value `streams` maps to a "
        "stream, instead of the event type; a value it does not map is refused (422). "
        "Default: route by event type.",
    )
    streams: Mapping[str, str] = Field(
        min_length=1,
        description="Pattern (`contact.*`) of the event type, or of the `route_by` field, to "
        "the stream it changes (`contacts`); events of other types are acknowledged and "
        "ignored.",
    )
    deletes: tuple[str, ...] = Field(
        default=("*.deleted",),
        description="Event type patterns that delete their record. Default ['*.deleted'].",
    )
    handshake: Handshake | None = Field(
        default=None,
        description="The subscription handshake the sender asks for: `kind:` echo_header, "
        "challenge or query. Default: none.",
    )

    @model_validator(mode="before")
    @classmethod
    def _scheme_is_an_auth(cls, data: object) -> object:
        # The first spelling, kept working: `scheme:` with `secret:`/`secrets:` at this level.
        if not isinstance(data, dict):
            return data
        legacy = {key: data[key] for key in ("scheme", "secret", "secrets") if key in data}
        if not legacy and "auth" not in data:
            raise ValueError(
                "say how requests prove they come from the system: `auth: {kind: ...}` "
                "(header, basic, path, hmac, a preset such as shopify; docs/webhooks.md), or "
                "`secret: whsec_...` for Standard Webhooks"
            )
        if not legacy:
            return data
        if "auth" in data:
            raise ValueError(
                f"{', '.join(legacy)} and auth are all set; keep `auth:` alone "
                "(`scheme:` and `secret:` are its older spelling)"
            )
        data = {key: value for key, value in data.items() if key not in legacy}
        data["auth"] = {"kind": legacy.pop("scheme", "standard"), **legacy}
        return data

    @field_validator("deletes", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _paths_agree(self) -> WebhookIntake:
        if self.ids is not None and self.ids == self.records:
            raise ValueError(f"records and ids are both '{self.ids}'; a path holds one of them")
        return self


def webhook_warnings(system: str, intake: WebhookIntake) -> list[str]:
    """What `syncwell check` should say loudly about one system's webhooks."""
    if isinstance(intake.auth, NoAuth):
        return [
            f"webhooks of '{system}' are taken UNSIGNED (`auth: {{kind: none, unsigned: "
            f"true}}`): anyone who can reach /hooks/{system} can write records to its flows. "
            "Use `kind: header`, `basic` or `path` if the sender can do any of them"
        ]
    return []
