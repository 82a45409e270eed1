"""The sandbox's settings: one frozen model per tool and the fault knobs they share.

Every value has a default, so `SandboxConfig()` is the sandbox the demo runs: the CRM on 8101,
the email platform on 8102 and the project tool on 8103, in memory unless `data_dir` is set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "CrmConfig",
    "EmailConfig",
    "FaultSettings",
    "Outage",
    "PeriodicOutage",
    "ProjectConfig",
    "SandboxConfig",
    "WebhookSubscription",
    "WindowOutage",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PeriodicOutage(_Frozen):
    """Down (503) for the last `for_s` seconds of every `every_s` seconds.

    The period is counted from the moment the fault settings took effect (the tool's start or
    the last `POST /_sandbox/faults`), so a freshly started tool is up first.
    """

    every_s: float = Field(gt=0)
    """Length of one period, in seconds."""
    for_s: float = Field(gt=0)
    """How long the tool is down at the end of each period, in seconds."""

    @model_validator(mode="after")
    def _fits(self) -> Self:
        if self.for_s > self.every_s:
            raise ValueError(f"for_s ({self.for_s}) is longer than every_s ({self.every_s})")
        return self


class WindowOutage(_Frozen):
    """Down (503) from `start` until `end`, both Unix timestamps in seconds."""

    start: float
    end: float

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) is not after start ({self.start})")
        return self


Outage = PeriodicOutage | WindowOutage


class FaultSettings(_Frozen):
    """The knobs that make a tool misbehave. Every tool has them; `/_sandbox/*` is never hit."""

    error_rate: float = Field(0.0, ge=0, le=1)
    """Share of requests answered with a 500, 502 or 503 before they reach the tool."""
    throttle_rate: float = Field(0.0, ge=0, le=1)
    """Share of requests answered 429 with a `Retry-After` of `throttle_s`, whatever the rate."""
    throttle_s: int = Field(1, ge=1)
    """The `Retry-After` of a throttled request, in whole seconds."""
    latency_ms: float = Field(0.0, ge=0)
    """Latency added to every request, in milliseconds."""
    latency_jitter_ms: float = Field(0.0, ge=0)
    """Up to this much more latency, uniformly at random, in milliseconds."""
    outages: tuple[Outage, ...] = ()
    """Windows in which every request gets a 503 with a `Retry-After`."""
    malformed_rate: float = Field(0.0, ge=0, le=1)
    """Share of records in list answers that come back messy (the stored record is fine)."""
    duplicate_webhook_rate: float = Field(0.0, ge=0, le=1)
    """Share of webhook events sent a second time, with the same id, a little later."""
    reorder_webhooks: bool = False
    """Hold back up to `reorder_window` events and send them shuffled."""
    reorder_window: int = Field(5, ge=2)
    """How many events one shuffled group holds at most."""
    reorder_hold_s: float = Field(0.5, gt=0)
    """The longest an event is held back waiting for its group to fill, in seconds."""
    rate_limit_per_s: int | None = Field(None, ge=1)
    """Requests allowed per fixed one-second window; None turns the limit off."""


class WebhookSubscription(_Frozen):
    """Where the CRM posts its change events, the secret, and the shape real senders use."""

    url: str
    secret: str
    """A `whsec_` + base64 secret, as `standardwebhooks.Webhook` takes it; with `auth: header`
    the token sent as it is."""
    auth: Literal["standard", "header"] = "standard"
    """standard: signed (Standard Webhooks); header: `secret` sent in `header`, unsigned."""
    header: str = "X-Webhook-Token"
    """The header carrying the token with `auth: header`."""
    shape: Literal["single", "bulk", "thin"] = "single"
    """single: an event per record; bulk: an event per call with `data.rows`; thin: with
    only the keys in `data.ids`."""
    types: Literal["per_object", "generic"] = "per_object"
    """per_object: `contact.updated`; generic: `records.after.update` for every table, the
    table in `data.table_name`."""

    def options(self) -> dict[str, object]:
        """The subscription's options, as the CRM's subscriptions API takes them."""
        return {"auth": self.auth, "header": self.header, "shape": self.shape, "types": self.types}


class CrmConfig(_Frozen):
    """The HubSpot-like CRM: contacts by email, companies by domain, webhooks."""

    port: int = Field(8101, ge=0, le=65535)
    """0 picks a free port."""
    token: str = "sandbox-crm-token"  # noqa: S105 - a documented sandbox default
    """The bearer token every `/v1` call must carry."""
    contacts: int = Field(2000, ge=0)
    """Contacts seeded into a new data file."""
    companies: int = Field(300, ge=1)
    """Companies seeded into a new data file."""
    webhooks: tuple[WebhookSubscription, ...] = ()
    """Subscriptions added at start (kept with the data; subscriptions can also be posted)."""
    webhook_attempts: int = Field(4, ge=1)
    """Attempts per event and subscriber before the event is given up."""
    webhook_backoff_s: float = Field(0.5, gt=0)
    """Wait before the second attempt; it doubles for each attempt after."""
    webhook_timeout_s: float = Field(5.0, gt=0)
    """How long one delivery may take before it counts as failed."""
    faults: FaultSettings = FaultSettings(rate_limit_per_s=10)


class EmailConfig(_Frozen):
    """The Mailchimp-like email platform: one audience of members by email."""

    port: int = Field(8102, ge=0, le=65535)
    api_key: str = "sandbox-email-key"
    """The key every `/api` call must carry in `X-Api-Key`."""
    list_id: str = "main"
    """The one audience this platform has; other list ids are 404."""
    visibility_delay_s: float = Field(1.0, ge=0)
    """How long a write stays invisible to reads (eventual consistency), in seconds."""
    members: int = Field(0, ge=0)
    """Members seeded into a new data file (the demo starts empty)."""
    change_times: bool = True
    """Whether members carry `updated_at` and the list filters by `since_last_changed`. False
    plays a list server that keeps no change time (as Mailman's members): a reader can only
    list everyone, and learns of a delete only by a member's absence."""
    faults: FaultSettings = FaultSettings()


class ProjectConfig(_Frozen):
    """The slow project tool: tasks by numeric id, no webhooks, basic auth."""

    port: int = Field(8103, ge=0, le=65535)
    username: str = "sandbox"
    password: str = "sandbox-project-pass"  # noqa: S105 - a documented sandbox default
    tasks: int = Field(500, ge=0)
    """Tasks seeded into a new data file."""
    filter_syntax: Literal["modified_after", "operator"] = "modified_after"
    """How the task list filters by change time: `modified_after=<time>` (strictly after), or
    `modified=<op><time>` with op one of >=, >, <=, <, = where a bare time means *equal to*
    (as some real tools read it); each syntax ignores the other's parameter, as real APIs
    ignore parameters they do not know."""
    faults: FaultSettings = FaultSettings(
        rate_limit_per_s=2,
        latency_ms=150,
        latency_jitter_ms=100,
        outages=(PeriodicOutage(every_s=300, for_s=20),),
    )


class SandboxConfig(_Frozen):
    """All three tools, where they keep their data and the seed of their fake data."""

    data_dir: Path | None = None
    """One SQLite file per tool here, kept across restarts; None keeps everything in memory."""
    host: str = "127.0.0.1"
    seed: int = 7
    """Seed of the generated contacts, companies and tasks; the same seed gives the same data."""
    access_log: bool = False
    """Log every request (uvicorn's access log)."""
    crm: CrmConfig = CrmConfig()
    email: EmailConfig = EmailConfig()
    project: ProjectConfig = ProjectConfig()
