"""The workflow map as a mermaid flowchart, for READMEs, issues and wikis that draw mermaid.

    flowchart LR
      sys_crm["crm<br/>sqlite"]
      sys_app[["app<br/>postgres · core"]]
      sys_crm -->|"contacts<br/>poll every 30s<br/>SLO fresh ≤ 5m, ≥99%"| sys_app
      sys_sheet -.->|"invoices<br/>manual, done by hand<br/>SLO fresh ≤ 15m, ≥99%"| sys_app
      %% workflow lead_to_core: contacts → deals

Node ids are ``sys_`` and the name with anything but letters, digits and ``_`` replaced, so that
no name can clash with mermaid's syntax (``end``, ``o``/``x`` edge heads). Labels are quoted with
mermaid's entity codes for the characters that would end or change them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from syncwell.map.labels import Health, flow_health, flow_lines
from syncwell.workspace import Mode, Workspace

__all__ = ["render_mermaid"]

_COLOURS: Mapping[Health, str] = {"ok": "#2e7d32", "breach": "#c62828", "unknown": "#9e9e9e"}
_EMPHASIS = "stroke-width:4px"
# Mermaid reads `#name;` / `#123;` as an entity; these characters would end a quoted label,
# start an entity, be taken for HTML or for a markdown string.
_ENTITIES = str.maketrans({c: f"#{ord(c)};" for c in '"#&<>`'} | {"\n": " ", "\r": " "})
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def render_mermaid(
    workspace: Workspace,
    *,
    highlight: str | None = None,
    health: Mapping[str, Health] | None = None,
) -> str:
    """`workspace` as a mermaid ``flowchart LR``.

    Args:
        workspace: the workspace to draw.
        highlight: a flow or system to emphasise (the constraint); a name that is neither is
            ignored.
        health: each flow's health, which colours its edge; flows not in it are ``unknown``.
    """
    ids = _node_ids(workspace)
    lines = ["flowchart LR", f"  %% workspace {_comment(workspace.name)}"]
    for name, system in workspace.systems.items():
        about = f"{system.kind} · core" if name == workspace.core else system.kind
        label = _label(name, about)
        lines.append(
            f"  {ids[name]}[[{label}]]" if name == workspace.core else f"  {ids[name]}[{label}]"
        )
    for flow in workspace.flows.values():
        arrow = "-.->" if flow.mode is Mode.MANUAL else "-->"
        label = _label(*flow_lines(flow))
        lines.append(f"  {ids[flow.source]} {arrow}|{label}| {ids[flow.destination]}")
    for workflow in workspace.workflows.values():
        about = f" — {workflow.description}" if workflow.description else ""
        chain = " → ".join(workflow.flows)
        lines.append(f"  %% workflow {_comment(f'{workflow.name}: {chain}{about}')}")
    lines += _styles(workspace, ids, highlight, health)
    return "\n".join(lines) + "\n"


def _styles(
    workspace: Workspace,
    ids: Mapping[str, str],
    highlight: str | None,
    health: Mapping[str, Health] | None,
) -> list[str]:
    lines = ["  classDef core stroke-width:3px"]
    if workspace.core is not None:
        lines.append(f"  class {ids[workspace.core]} core")
    if highlight is not None and highlight in workspace.systems:
        lines += [
            f"  classDef highlight {_EMPHASIS},stroke:#f57c00",
            f"  class {ids[highlight]} highlight",
        ]
    # Edges are numbered in the order they were drawn: the order of workspace.flows.
    for index, name in enumerate(workspace.flows):
        style = [f"stroke:{_COLOURS[flow_health(name, health)]}"]
        if name == highlight:
            style.append(_EMPHASIS)
        lines.append(f"  linkStyle {index} {','.join(style)}")
    return lines


def _node_ids(workspace: Workspace) -> dict[str, str]:
    ids: dict[str, str] = {}
    for name in workspace.systems:
        base = "sys_" + _UNSAFE.sub("_", name)
        node, n = base, 1
        while node in ids.values():
            n += 1
            node = f"{base}_{n}"
        ids[name] = node
    return ids


def _label(*lines: str) -> str:
    return '"' + "<br/>".join(line.translate(_ENTITIES) for line in lines) + '"'


def _comment(text: str) -> str:
    # A comment is one line; mermaid has no escapes in comments, so only line breaks matter.
    return " ".join(text.split())
