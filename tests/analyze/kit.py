"""Workspaces and measured facts built in a line, for judging without running an engine."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from syncwell.analyze import FlowFacts, IncidentFacts, WorkspaceFacts, flow_facts
from syncwell.analyze.trend import Trend
from syncwell.workspace import Workspace, parse_workspace

HOUR = 3600.0
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def tools_workspace(
    flows: Mapping[str, str],
    *,
    rate_limits: Mapping[str, float] | None = None,
    webhooks: tuple[str, ...] = (),
    workflows: Mapping[str, list[str]] | None = None,
) -> Workspace:
    """A core and the tools `flows` name; each flow is `source -> destination[, yaml fields]`."""
    systems: set[str] = {"core"}
    lines = ["core: core", "flows:"]
    for name, spec in flows.items():
        route, _, extra = spec.partition(",")
        source, destination = (part.strip() for part in route.split("->"))
        systems |= {source, destination}
        fields = f", {extra.strip()}" if extra.strip() else ""
        lines.append(
            f"  {name}: {{source: {source}, destination: {destination}, stream: {name}, "
            f"key: id, cursor: at{fields}}}"
        )
    lines.append("systems:")
    for system in sorted(systems):
        extra = ""
        if rate_limits and system in rate_limits:
            extra += f", rate_limit: {{per_second: {rate_limits[system]}}}"
        if system in webhooks:
            extra += f", webhooks: {{secret: {SECRET}, streams: {{contact: contacts}}}}"
        lines.append(f"  {system}: {{kind: sqlite, path: {system}.db{extra}}}")
    if workflows:
        lines.append("workflows:")
        lines += [f"  {name}: [{', '.join(path)}]" for name, path in workflows.items()]
    return parse_workspace("\n".join(lines) + "\n", "syncwell.yaml", Path("/tmp"), env={})


def measured(
    *,
    minutes: int = 60,
    per_minute: float = 10.0,
    write_ms: float = 50.0,
    batch: float = 10.0,
    **extra: float,
) -> dict[str, object]:
    """An hour of a quiet, healthy flow: `per_minute` changes in and out, written in batches
    of `batch` taking `write_ms` each; `extra` overrides any column."""
    changes = round(minutes * per_minute)
    batches = max(1, round(changes / batch))
    row: dict[str, object] = {
        "measured_s": minutes * 60.0,
        "changes_in": changes,
        "changes_out": changes,
        "batches": batches,
        "attempts": batches,
        "latency_sum_ms": batches * write_ms,
        "lag_sum_s": batches * 2.0,
        "lag_max_s": 5.0,
        "reads": minutes,
    }
    row.update(extra)
    return row


def facts_of(
    workspace: Workspace,
    rows: Mapping[str, Mapping[str, object]],
    *,
    poison: Mapping[str, tuple[str | None, str]] | None = None,
    daily: Mapping[str, tuple[float, ...]] | None = None,
    incidents: Mapping[str, IncidentFacts] | None = None,
    window_s: float = HOUR,
) -> WorkspaceFacts:
    """The workspace with `rows` as each flow's measured totals (a flow left out: healthy)."""
    flows: dict[str, FlowFacts] = {}
    for name, flow in workspace.flows.items():
        flows[name] = flow_facts(
            workspace,
            flow,
            rows.get(name, measured()),
            (poison or {}).get(name, (None, "")),
            Trend.from_days((daily or {}).get(name, ())),
        )
    return WorkspaceFacts(workspace, window_s, 1_800_000_000.0, flows, dict(incidents or {}))
