"""How a flow learns of changes, and how often it looks when the file does not say."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel, ByteSize, ConfigDict, Field

__all__ = ["DEFAULT_INTERVALS", "DEFAULT_MAX_RETAINED", "Capture", "Mode"]

DEFAULT_MAX_RETAINED = ByteSize(1024**3)
"""The WAL a CDC flow's slot may keep before an incident opens: 1 GiB (docs/cdc.md)."""


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
    made them (syncwell makes its own otherwise: ``syncwell_<workspace>_<flow>``), and how
    much WAL its slot may keep."""

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
    max_retained: ByteSize = Field(
        default=DEFAULT_MAX_RETAINED,
        gt=0,
        description="The WAL the slot may keep (from its restart point to the end of the "
        "WAL) before a `slot_wal` incident opens; it closes when the slot keeps this much or "
        "less again. A size: `512MB`, `1GiB` (MB and GB are powers of 1000, MiB and GiB of "
        "1024). Default: 1GiB.",
    )


DEFAULT_INTERVALS: Mapping[Mode, timedelta | None] = {
    Mode.POLL: timedelta(seconds=60),
    Mode.REALTIME: timedelta(minutes=15),
    Mode.BATCH: timedelta(hours=1),
    Mode.MANUAL: None,
    Mode.CDC: None,
}
"""A flow's `interval` when the file gives none, by mode."""
