"""What a flow looks like at one moment, for exporters (kept apart so the engine needn't
import prometheus-client, which only the HTTP API does)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["FlowSample"]


@dataclass(frozen=True, slots=True)
class FlowSample:
    """One flow's counts and gauges at the moment of a scrape."""

    flow: str
    integration: str
    read: int
    settled: int
    written: int
    dead_lettered: int
    retries: int
    retries_rate_limited: int
    retries_timeout: int
    failed_attempts: int
    webhook_changes: int
    echoes: int
    stale: int
    missed_by_webhooks: int
    backlog: int
    dead_letters_open: int
    last_read_at: float | None
    breaker_open: bool
    headroom: float | None
    verified: int = 0
    """Written records read back to verify them."""
    drifted: int = 0
    """Of those, records with a field that came back different, or gone."""
    drift: Mapping[str, int] = field(default_factory=dict)
    """Per field: records whose field came back different."""
    slot_retained_bytes: float | None = None
    """A `mode: cdc` flow: the WAL its replication slot kept at the last measurement."""
    slot_retained_s: float | None = None
    """Likewise, how far behind in time its confirmed position was, seconds."""
