"""How a flow learns of changes, and how often it looks when the file does not say."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from enum import StrEnum

__all__ = ["DEFAULT_INTERVALS", "Mode"]


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


DEFAULT_INTERVALS: Mapping[Mode, timedelta | None] = {
    Mode.POLL: timedelta(seconds=60),
    Mode.REALTIME: timedelta(minutes=15),
    Mode.BATCH: timedelta(hours=1),
    Mode.MANUAL: None,
}
"""A flow's `interval` when the file gives none, by mode."""
