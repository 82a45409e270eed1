"""What every drawing of the map says about a flow, and the health that colours it.

The mermaid, dot and JSON renderings share these so that they never disagree: a flow reads
``contacts`` / ``poll every 30s`` / ``SLO fresh ≤ 5m, ≥99%`` in each of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from syncwell.workspace import Flow, Mode, format_duration

__all__ = ["Health", "flow_health", "flow_lines"]

Health = Literal["ok", "breach", "unknown"]
"""A flow's health as the analysis sees it; ``unknown`` until it has measured the flow."""


def flow_lines(flow: Flow) -> tuple[str, str, str]:
    """The flow's label in three lines: its name, how often it runs, its SLO."""
    every = format_duration(flow.interval) if flow.interval else "?"
    if flow.mode is Mode.MANUAL:
        how = "manual, done by hand"
    elif flow.mode is Mode.REALTIME:
        how = f"realtime, reconciled every {every}"
    elif flow.mode is Mode.CDC:
        how = "cdc, as changes commit"
    else:
        how = f"{flow.mode} every {every}"
    rate = f"{flow.slo.success_rate * 100:g}%"
    return flow.name, how, f"SLO fresh ≤ {format_duration(flow.slo.freshness)}, ≥{rate}"


def flow_health(flow: str, health: Mapping[str, Health] | None) -> Health:
    """The health of `flow` in `health`; ``unknown`` when it is not there."""
    return (health or {}).get(flow, "unknown")
