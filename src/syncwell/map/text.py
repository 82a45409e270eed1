"""The workflow map as plain text, for `syncwell map` and `syncwell check`.

systems
  app   postgres  core
  crm   sqlite

flows
  crm ──contacts (poll every 30s, SLO fresh ≤ 5m, ≥99%)──▶ app

workflows
  lead_to_core: contacts → deals
"""

from __future__ import annotations

from syncwell.workspace import Flow, Mode, Workspace, format_duration

__all__ = ["render_text"]


def render_text(workspace: Workspace) -> str:
    """A readable map of `workspace`: its systems, its flows as arrows, its workflows as chains."""
    lines = [f"workspace {workspace.name} ({workspace.path})", ""]
    lines += ["systems", *_systems(workspace), ""]
    lines += ["flows", *(f"  {_arrow(flow)}" for flow in workspace.flows.values())]
    if not workspace.flows:
        lines.append("  (none)")
    if workspace.workflows:
        lines += ["", "workflows"]
        for workflow in workspace.workflows.values():
            about = f"  — {workflow.description}" if workflow.description else ""
            lines.append(f"  {workflow.name}: {' → '.join(workflow.flows)}{about}")
    return "\n".join(lines) + "\n"


def _systems(workspace: Workspace) -> list[str]:
    width = max((len(name) for name in workspace.systems), default=0)
    kinds = max((len(system.kind) for system in workspace.systems.values()), default=0)
    rows = []
    for name, system in workspace.systems.items():
        role = "core" if name == workspace.core else ""
        rows.append(f"  {name:<{width}}  {system.kind:<{kinds}}  {role}".rstrip())
    if workspace.core is None:
        rows.append("  (no core system: set `core:` to the system your product runs on)")
    return rows


def _arrow(flow: Flow) -> str:
    return f"{flow.source} ──{flow.name} ({_how(flow)})──▶ {flow.destination}"


def _how(flow: Flow) -> str:
    if flow.mode is Mode.MANUAL:
        return "manual: done by hand"
    every = format_duration(flow.interval) if flow.interval else "?"
    if flow.mode is Mode.REALTIME:
        how = f"realtime, reconciled every {every}"
    else:
        how = f"{flow.mode} every {every}"
    rate = f"{flow.slo.success_rate * 100:g}%"
    return f"{how}, SLO fresh ≤ {format_duration(flow.slo.freshness)}, ≥{rate}"
