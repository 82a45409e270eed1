"""The workflow map in Graphviz's DOT language: ``syncwell map --format dot | dot -Tsvg``.

    digraph "demo" {
      "app" [label="app\\npostgres · core", peripheries=2];
      "crm" -> "app" [label="contacts\\npoll every 30s\\nSLO fresh ≤ 5m, ≥99%", color="#9e9e9e"];
      "sheet" -> "app" [label="invoices\\nmanual, done by hand\\n...", style=dashed];
      "~workflows" [shape=note, label="workflows\\llead_to_core: contacts → deals\\l"];
    }

Every id and label is a quoted string with ``"`` and ``\\`` escaped, so any name is safe.
Workflows are a note beside the drawing, and each flow's edge names the workflows it is part
of in a ``workflows`` attribute for tools that read the file.
"""

from __future__ import annotations

from collections.abc import Mapping

from syncwell.map.labels import Health, flow_health, flow_lines
from syncwell.workspace import Flow, Mode, Workspace

__all__ = ["render_dot"]

_COLOURS: Mapping[Health, str] = {"ok": "#2e7d32", "breach": "#c62828", "unknown": "#9e9e9e"}
_HIGHLIGHT = "#f57c00"
_LEGEND = "~workflows"  # not a name the loader accepts, so no system can take it


def render_dot(
    workspace: Workspace,
    *,
    highlight: str | None = None,
    health: Mapping[str, Health] | None = None,
) -> str:
    """`workspace` as a Graphviz ``digraph``, laid out left to right.

    Args:
        workspace: the workspace to draw.
        highlight: a flow or system to emphasise (the constraint); a name that is neither is
            ignored.
        health: each flow's health, which colours its edge; flows not in it are ``unknown``.
    """
    lines = [
        f"digraph {_quote(workspace.name)} {{",
        "  graph [rankdir=LR, fontname=Helvetica];",
        "  node [shape=box, style=rounded, fontname=Helvetica];",
        "  edge [fontname=Helvetica, fontsize=10];",
    ]
    for name, system in workspace.systems.items():
        core = name == workspace.core
        attrs = {"label": _lines(name, f"{system.kind} · core" if core else system.kind)}
        if core:
            attrs["peripheries"] = "2"
        if name == highlight:
            attrs |= {"color": _quote(_HIGHLIGHT), "penwidth": "3"}
        lines.append(f"  {_quote(name)} [{_attrs(attrs)}];")
    part_of = _workflows_by_flow(workspace)
    for name, flow in workspace.flows.items():
        attrs = _edge(flow, flow_health(name, health), highlighted=name == highlight)
        if part_of.get(name):
            attrs["workflows"] = _quote(", ".join(part_of[name]))
        edge = f"{_quote(flow.source)} -> {_quote(flow.destination)}"
        lines.append(f"  {edge} [{_attrs(attrs)}];")
    if workspace.workflows:
        lines.append(f"  {_quote(_LEGEND)} [{_attrs(_legend(workspace))}];")
    return "\n".join([*lines, "}"]) + "\n"


def _edge(flow: Flow, health: Health, *, highlighted: bool) -> dict[str, str]:
    attrs = {"id": _quote(f"flow:{flow.name}"), "label": _lines(*flow_lines(flow))}
    attrs["color"] = attrs["fontcolor"] = _quote(_COLOURS[health])
    styles = ["dashed"] if flow.mode is Mode.MANUAL else []
    if highlighted:
        styles.append("bold")
        attrs["penwidth"] = "3"
    if styles:
        attrs["style"] = _quote(",".join(styles))
    return attrs


def _legend(workspace: Workspace) -> dict[str, str]:
    rows = ["workflows"]
    for workflow in workspace.workflows.values():
        about = f" — {workflow.description}" if workflow.description else ""
        rows.append(f"{workflow.name}: {' → '.join(workflow.flows)}{about}")
    # `\l` ends a left-aligned line; escape each row first so that it cannot add its own.
    label = "".join(_escape(row) + "\\l" for row in rows)
    return {"shape": "note", "fontsize": "10", "label": f'"{label}"'}


def _workflows_by_flow(workspace: Workspace) -> dict[str, list[str]]:
    part_of: dict[str, list[str]] = {}
    for workflow in workspace.workflows.values():
        for flow in dict.fromkeys(workflow.flows):
            part_of.setdefault(flow, []).append(workflow.name)
    return part_of


def _attrs(attrs: Mapping[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in attrs.items())


def _lines(*lines: str) -> str:
    return '"' + "\\n".join(_escape(line) for line in lines) + '"'


def _quote(text: str) -> str:
    return f'"{_escape(text)}"'


def _escape(text: str) -> str:
    # Backslashes first, so that the ones added for quotes and newlines stay single.
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")
