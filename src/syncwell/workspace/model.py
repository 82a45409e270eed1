"""The workspace as the engine sees it: systems, flows and workflows, checked and with defaults.

These models are what `load_workspace` returns. They are frozen: a workspace is read once and
shared by every part of the engine. Each field's description gives its unit and default; the
reference in docs/workspace.md follows them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from syncwell.types import StreamSpec
from syncwell.workspace.alerts import AlertSettings
from syncwell.workspace.checks import workspace_problems
from syncwell.workspace.deletes import DeleteDetection
from syncwell.workspace.durations import Duration, PositiveDuration
from syncwell.workspace.kinds import ConnectorSettings
from syncwell.workspace.manual import Manual
from syncwell.workspace.modes import DEFAULT_INTERVALS, Capture, Mode
from syncwell.workspace.policies import BreakerPolicy, RateLimitPolicy, RetryPolicy
from syncwell.workspace.tickets import TicketSettings
from syncwell.workspace.transport import TransportSettings
from syncwell.workspace.verify import Verify
from syncwell.workspace.webhooks import WebhookIntake

__all__ = [
    "ConnectorSettings",
    "Flow",
    "Slo",
    "System",
    "Workflow",
    "Workspace",
]


Column = Annotated[str, Field(min_length=1)]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Slo(BaseModel):
    """What "healthy" means for a flow."""

    model_config = _FROZEN

    freshness: PositiveDuration = Field(
        default=timedelta(minutes=15),
        description="How far behind its source a flow may fall before it breaches. Default 15m.",
    )
    success_rate: float = Field(
        default=0.99,
        ge=0,
        le=1,
        description="Share of deliveries that must succeed, 0 to 1. Default 0.99.",
    )


class System(BaseModel):
    """One tool in the workflow: its connector settings and the policies that guard it."""

    model_config = _FROZEN

    name: str = Field(description="The system's name: its key under `systems:`.")
    settings: ConnectorSettings = Field(description="The connector's settings, by `kind`.")
    rate_limit: RateLimitPolicy | None = Field(
        default=None, description="The system's request budget. Default: no limit."
    )
    retry: RetryPolicy = Field(
        default_factory=RetryPolicy, description="Retries; fields default to `defaults.retry`."
    )
    breaker: BreakerPolicy = Field(
        default_factory=BreakerPolicy,
        description="Circuit breaker; fields default to `defaults.breaker`.",
    )
    webhooks: WebhookIntake | None = Field(
        default=None,
        description="How the system's webhooks are received at POST /hooks/<system>. "
        "Default: it sends none.",
    )

    @property
    def kind(self) -> str:
        """The connector kind (``postgres``, ``sqlite``)."""
        return self.settings.kind


class Flow(BaseModel):
    """One stream of records from a source system to a destination system."""

    model_config = _FROZEN

    name: str = Field(description="The flow's name: its key under `flows:`.")
    source: str = Field(description="The system records come from.")
    destination: str = Field(description="The system records go to; not the source.")
    stream: Column = Field(description="The table or stream read in the source.")
    target: Column = Field(description="The table written in the destination. Default: stream.")
    key: tuple[Column, ...] = Field(
        min_length=1, description="Column(s) that identify a record; one name or a list."
    )
    cursor: Column | None = Field(
        default=None,
        description="Column incremental reads order by. Without one, every read is whole and "
        "compares each record's digest with the last one seen. Default: none.",
    )
    version: Column | None = Field(
        default=None,
        description="Column that orders versions of a record (older never overwrites newer). "
        "Default: cursor.",
    )
    mode: Mode = Field(default=Mode.POLL, description="How changes are learned. Default poll.")
    interval: PositiveDuration | None = Field(
        default=None,
        description="Time between reads (poll, batch) or reconciliations (realtime). "
        "Default: poll 60s, realtime 15m, batch 1h, manual none.",
    )
    lookback: Duration = Field(
        default=timedelta(minutes=5),
        description="How far behind the cursor an incremental read starts again. Default 5m.",
    )
    batch_size: int = Field(
        default=5000, ge=1, le=100_000, description="Records per read and write. Default 5000."
    )
    fields: Mapping[Column, Column] = Field(
        default_factory=dict,
        description="Columns moved, source name to destination name; a list keeps the names. "
        "Default (empty): every column.",
    )
    read_only: tuple[Column, ...] = Field(
        default=(),
        description="Columns never written to the destination (it sets them itself), in the "
        "destination's names (a source name is taken where `fields` renames it). The key "
        "cannot be one. Default: none, but an http destination is never sent its own cursor "
        "and created-at columns.",
    )
    write_fields: tuple[Column, ...] | None = Field(
        default=None,
        description="The only columns written to the destination, in its names (or the "
        "source's), besides those it needs: the key, a database's version column, fields an "
        "http write path names. Default: every column moved, less `read_only`.",
    )
    slo: Slo = Field(default_factory=Slo, description="The flow's service level objective.")
    deletes: DeleteDetection | None = Field(
        default=None,
        description="How records deleted in a source without tombstones are found (a key "
        "scan). Default: not at all, but a flow without a cursor finds them by every read.",
    )
    conflict: str = Field(
        default="newest",
        description="When both sides of a two-way sync changed a record: `newest` (the newer "
        "version wins), or the name of the system whose changes win. Default newest.",
    )
    missing: Literal["dead_letter", "recreate", "drop"] = Field(
        default="dead_letter",
        description="What a change to a record that is missing in the destination (deleted "
        "there: 404 or 410 at its own URL) does: `dead_letter` (kept with the reason; the "
        "others go on), `recreate` (create it anew) or `drop` (skip the change). A delete of "
        "a record already gone is always done. Default dead_letter.",
    )
    manual: Manual | None = Field(
        default=None,
        description="For a `mode: manual` flow only: how often a person does the step and how "
        "long it takes (`{every: 1d, takes: 20m}`), what the analysis ranks it by. Default: "
        "not declared (the analysis names the step, with no number).",
    )
    verify: Verify = Field(
        default_factory=Verify,
        description="Read-after-write verification: the first 200 records written are read "
        "back and compared with what was sent, field by field. Default: on for the first 200.",
    )
    cdc: Capture | None = Field(
        default=None,
        description="For a `mode: cdc` flow only: the replication slot and publication a DBA "
        "made (`{slot: ..., publication: ...}`). Default: syncwell makes its own.",
    )
    core: str | None = Field(
        default=None,
        description="The workspace's core system, filled in by the loader (not written in a "
        "flow); it decides `integration`.",
    )

    @model_validator(mode="before")
    @classmethod
    def _fill_defaults(cls, data: object) -> object:
        # Defaults that depend on other fields; a wrong mode is left for field validation.
        if not isinstance(data, dict):
            return data
        data = dict(data)
        # Only copy good values: a bad stream is reported once, at `stream`, not again at
        # `target`; an empty cursor once, at `cursor`, not again at `version` (which, unlike
        # `target`, may be left without a value).
        if isinstance(data.get("stream"), str):
            data.setdefault("target", data["stream"])
        if _named(data.get("cursor")):
            data.setdefault("version", data["cursor"])
        if data.get("interval") is None:
            with contextlib.suppress(ValueError, TypeError):
                data["interval"] = DEFAULT_INTERVALS[Mode(data.get("mode", Mode.POLL))]
        return data

    @field_validator("key", "read_only", "write_fields", mode="before")
    @classmethod
    def _one_key_or_many(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    @field_validator("read_only", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        # `read_only:` written with nothing after it means "none", as `fields:` does.
        return () if value is None else value

    @field_validator("fields", mode="before")
    @classmethod
    def _list_keeps_names(cls, value: object) -> object:
        if value is None:
            return {}
        if isinstance(value, list | tuple):
            if not all(isinstance(column, str) for column in value):
                raise ValueError(
                    "fields must be a list of column names or a mapping of "
                    "source_column: destination_column"
                )
            return {column: column for column in value}
        return value

    @property
    def scans_keys(self) -> bool:
        """Whether the flow lists its source's keys now and then to find deletes."""
        return (
            self.cursor is not None and self.deletes is not None and self.deletes.detect == "scan"
        )

    @property
    def passes_by_read(self) -> bool:
        """Whether each whole read (a flow without a cursor) is a pass that finds deletes."""
        if self.mode is Mode.CDC:  # deletes arrive as changes; a read is no whole pass
            return False
        return self.cursor is None and (self.deletes is None or self.deletes.detect == "scan")

    @property
    def integration(self) -> str:
        """The external system of this flow: the side that is not core (else the destination)."""
        return self.source if self.destination == self.core else self.destination

    def source_spec(self) -> StreamSpec:
        """What the source connector reads, in the source's column names."""
        return StreamSpec(
            name=self.stream,
            key=self.key,
            columns=tuple(self.fields),
            cursor=self.cursor,
            version=self.version,
            lookback_s=self.lookback.total_seconds(),
            batch_size=self.batch_size,
        )

    def destination_spec(self) -> StreamSpec:
        """What the destination connector writes, in the destination's column names."""
        rename = self.fields.get
        return StreamSpec(
            name=self.target,
            key=tuple(rename(column, column) for column in self.key),
            columns=tuple(self.fields.values()),
            cursor=rename(self.cursor, self.cursor) if self.cursor else None,
            version=rename(self.version, self.version) if self.version else None,
            lookback_s=self.lookback.total_seconds(),
            batch_size=self.batch_size,
        )


def _named(value: object) -> bool:
    """Whether `value` is a column name `Column` takes: text, not empty."""
    return isinstance(value, str) and value != ""


class Workflow(BaseModel):
    """An ordered path of flows that one piece of customer work travels."""

    model_config = _FROZEN

    name: str = Field(description="The workflow's name: its key under `workflows:`.")
    description: str = Field(default="", description="What the work is, for people. Default ''.")
    flows: tuple[str, ...] = Field(
        min_length=1,
        description="Flow names in order; each flow's destination is the next one's source.",
    )


class Workspace(BaseModel):
    """A whole syncwell.yaml, loaded: build it with `load_workspace`."""

    model_config = _FROZEN

    name: str = Field(description="The workspace's name. Default: the folder's name.")
    path: Path = Field(description="The workspace file.")
    root: Path = Field(description="The folder relative paths start from.")
    state: str = Field(
        description="URL of the state store. Default: sqlite:///<root>/.syncwell/state.db."
    )
    core: str | None = Field(
        default=None,
        description="The core system. Default: the system named 'core' if there is one.",
    )
    systems: Mapping[str, System] = Field(description="Systems by name.")
    flows: Mapping[str, Flow] = Field(default_factory=dict, description="Flows, in file order.")
    workflows: Mapping[str, Workflow] = Field(
        default_factory=dict, description="Workflows by name."
    )
    alerts: AlertSettings | None = Field(
        default=None, description="Where incident openings and closings are announced."
    )
    transport: TransportSettings | None = Field(
        default=None,
        description="How journal entries reach `syncwell worker` processes; none: one process.",
    )
    tickets: TicketSettings | None = Field(
        default=None, description="Support tickets, read as evidence for the constraint."
    )

    def integrations(self) -> dict[str, list[str]]:
        """Each integration (an external system the flows reach) and its flows' names, in
        the file's order."""
        found: dict[str, list[str]] = {}
        for name, flow in self.flows.items():
            found.setdefault(flow.integration, []).append(name)
        return found

    @model_validator(mode="after")
    def _consistent(self) -> Workspace:
        # The loader reports these with lines; this guards workspaces built in code.
        problems = workspace_problems(self)
        if problems:
            raise ValueError("; ".join(problem.message for problem in problems))
        return self
