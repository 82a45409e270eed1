"""The workflow map as plain text, for `syncwell map` and `syncwell check`.

systems
  app  postgres  core
  crm  sqlite          ◆ constraint

flows
  crm ──contacts (poll every 30s, SLO fresh ≤ 5m, ≥99%)──▶ app                  breach
  app ──deals (realtime, reconciled every 15m, SLO fresh ≤ 15m, ≥99.5%)──▶ crm  ok

workflows
  lead_to_core: contacts → deals

Each flow's health follows its arrow when health is given (`syncwell check` gives none);
``◆ constraint`` marks the highlighted flow or system.
"""

from __future__ import annotations

from collections.abc import Mapping

from syncwell.map.labels import Health, flow_health
from syncwell.workspace import Flow, Mode, Workspace, format_duration

__all__ = ["render_text"]

_MARK = "◆ constraint"


def render_text(
    workspace: Workspace,
    *,
    highlight: str | None = None,
    health: Mapping[str, Health] | None = None,
) -> str:
    """A readable map of `workspace`: its systems, its flows as arrows, its workflows as chains.

    Args:
        workspace: the workspace to draw.
        highlight: a flow or system to mark ``◆ constraint``; a name that is neither is ignored.
        health: each flow's health, shown after its arrow (flows not in it are ``unknown``);
            without it no health is shown.
    """
    lines = [f"workspace {workspace.name} ({workspace.path})", ""]
    lines += ["systems", *_systems(workspace, highlight), ""]
    lines += ["flows", *_flows(workspace, highlight, health)]
    if not workspace.flows:
        lines.append("  (none)")
    if workspace.workflows:
        lines += ["", "workflows"]
        for workflow in workspace.workflows.values():
            about = f"  — {workflow.description}" if workflow.description else ""
            lines.append(f"  {workflow.name}: {' → '.join(workflow.flows)}{about}")
    return "\n".join(lines) + "\n"


def _systems(workspace: Workspace, highlight: str | None) -> list[str]:
    width = max((len(name) for name in workspace.systems), default=0)
    kinds = max((len(system.kind) for system in workspace.systems.values()), default=0)
    roles = 4 if workspace.core is not None else 0  # room for "core", only when there is one
    rows = []
    for name, system in workspace.systems.items():
        role = "core" if name == workspace.core else ""
        mark = _MARK if name == highlight else ""
        rows.append(f"  {name:<{width}}  {system.kind:<{kinds}}  {role:<{roles}}  {mark}".rstrip())
    if workspace.core is None:
        rows.append("  (no core system: set `core:` to the system your product runs on)")
    return rows


def _flows(
    workspace: Workspace, highlight: str | None, health: Mapping[str, Health] | None
) -> list[str]:
    arrows = {name: _arrow(flow) for name, flow in workspace.flows.items()}
    # Arrows are padded to one width only when something follows them, so that it lines up.
    width = max(map(len, arrows.values()), default=0)
    rows = []
    for name, arrow in arrows.items():
        notes = [f"{flow_health(name, health):<7}"] if health is not None else []
        notes += [_MARK] if name == highlight else []
        rows.append(f"  {arrow:<{width}}  {' '.join(notes)}".rstrip())
    return rows


def _arrow(flow: Flow) -> str:
    return f"{flow.source} ──{flow.name} ({_how(flow)})──▶ {flow.destination}"


def _how(flow: Flow) -> str:
    if flow.mode is Mode.MANUAL:
        return "manual: done by hand"
    every = format_duration(flow.interval) if flow.interval else "?"
    if flow.mode is Mode.REALTIME:
        how = f"realtime, reconciled every {every}"
    elif flow.mode is Mode.CDC:
        how = "cdc, as changes commit"
    else:
        how = f"{flow.mode} every {every}"
    rate = f"{flow.slo.success_rate * 100:g}%"
    return f"{how}, SLO fresh ≤ {format_duration(flow.slo.freshness)}, ≥{rate}"
