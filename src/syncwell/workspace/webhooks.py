"""How a system's webhooks are received: the signature scheme, limits, and what events mean."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from syncwell.workspace.durations import PositiveDuration

__all__ = ["WebhookIntake"]


class WebhookIntake(BaseModel):
    """A system's webhooks, received at ``POST /hooks/<system>``.

    An event becomes a change of each realtime flow that reads its stream from this system.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    scheme: Literal["standard", "github", "stripe"] = Field(
        default="standard",
        description="Signature scheme: `standard` (Standard Webhooks: webhook-id, "
        "webhook-timestamp, webhook-signature), `github` (X-Hub-Signature-256) or `stripe` "
        "(Stripe-Signature: t=...,v1=...). Default standard.",
    )
    secrets: tuple[SecretStr, ...] = Field(
        min_length=1,
        description="Signing secrets; several while one is rotated out. `secret:` is one.",
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
    event_id: str | None = Field(
        default=None,
        description="Dotted path of the event id in the body. Default: the scheme's id header "
        "(webhook-id, X-GitHub-Delivery), else `id`.",
    )
    event_type: str = Field(default="type", description="Path of the event type. Default type.")
    record: str = Field(
        default="data", description="Path of the changed record in the body. Default data."
    )
    streams: Mapping[str, str] = Field(
        min_length=1,
        description="Event type pattern (`contact.*`) to the stream it changes (`contacts`); "
        "events of other types are acknowledged and ignored.",
    )
    deletes: tuple[str, ...] = Field(
        default=("*.deleted",),
        description="Event type patterns that delete their record. Default ['*.deleted'].",
    )

    @model_validator(mode="before")
    @classmethod
    def _one_secret(cls, data: object) -> object:
        if isinstance(data, dict) and "secret" in data:
            data = dict(data)
            secret = data.pop("secret")
            data["secrets"] = [secret, *data.get("secrets", [])]
        return data

    @field_validator("deletes", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value
