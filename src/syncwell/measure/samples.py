"""What a flow looks like at one moment, for exporters (kept apart so the engine needn't
import prometheus-client, which only the HTTP API does)."""

from __future__ import annotations

from dataclasses import dataclass

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
