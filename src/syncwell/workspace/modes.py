"""How a flow learns of changes, and how often it looks when the file does not say."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DEFAULT_INTERVALS", "Capture", "Mode"]


class Mode(StrEnum):
    """How a flow learns of changes."""

    REALTIME = "realtime"
    """Pushed (webhooks, change data capture), reconciled by polling every `interval`."""
    POLL = "poll"
    """Read incrementally by `cursor` every `interval`."""
    BATCH = "batch"
    """Bulk reads on a schedule, every `interval`."""
    MANUAL = "manual"
    """People do it by hand today: mapped and measured, not automated."""
    CDC = "cdc"
    """A PostgreSQL source's changes as they commit, by logical replication (docs/cdc.md)."""


class Capture(BaseModel):
    """The replication slot and publication a `mode: cdc` flow streams through, when a DBA
    made them; syncwell makes its own otherwise (``syncwell_<workspace>_<flow>``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    slot: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9_]{1,63}$",
        description="The logical replication slot (pgoutput) to stream from; created with a "
        "snapshot when it does not exist. Default: syncwell_<workspace>_<flow>.",
    )
    publication: str | None = Field(
        default=None,
        min_length=1,
        max_length=63,
        description="The publication that publishes the flow's table; it must exist. "
        "Default: syncwell_<workspace>_<flow>, created by syncwell.",
    )


DEFAULT_INTERVALS: Mapping[Mode, timedelta | None] = {
    Mode.POLL: timedelta(seconds=60),
    Mode.REALTIME: timedelta(minutes=15),
    Mode.BATCH: timedelta(hours=1),
    Mode.MANUAL: None,
    Mode.CDC: None,
}
"""A flow's `interval` when the file gives none, by mode."""
